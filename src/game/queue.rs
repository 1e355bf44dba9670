//! A small bounded queue with many senders and one receiver, for the queues
//! every connection keeps for its whole life (its outbound lines, its control
//! orders).
//!
//! tokio's `mpsc` keeps each channel's slots in blocks of 32 that it never gives
//! back while the channel lives, and pads its counters to cache lines: about
//! 1.8 KiB for a queue of lines, 1.5 KiB for a queue of orders, however little
//! they hold, which is most of what 10,000 idle players cost. This one holds its
//! items in a `VecDeque` behind a lock, frees the deque's buffer once a burst has
//! drained, and wakes its one receiver through an `AtomicWaker`: a few dozen
//! bytes for an empty queue. Sending never waits: a full queue hands the item
//! back ([`Full`]), and so does one whose receiver is gone ([`Closed`]).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;

use futures::task::AtomicWaker;
use parking_lot::Mutex;

/// A drained deque whose buffer grew past this many items gives it back.
const KEEP_AT_MOST: usize = 4;

/// Why an item was not queued; the item comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused<T> {
    /// The queue holds its capacity already.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

pub use Refused::{Closed, Full};

struct Shared<T> {
    state: Mutex<State<T>>,
    waker: AtomicWaker,
    capacity: usize,
}

struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver_gone: bool,
}

/// Makes a queue that holds at most `capacity` items (at least one).
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            senders: 1,
            receiver_gone: false,
        }),
        waker: AtomicWaker::new(),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// A sending side; clone it for each holder.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues `item` unless the queue is full or its receiver is gone.
    pub fn try_send(&self, item: T) -> Result<(), Refused<T>> {
        {
            let mut state = self.shared.state.lock();
            if state.receiver_gone {
                return Err(Closed(item));
            }
            if state.items.len() >= self.shared.capacity {
                return Err(Full(item));
            }
            state.items.push_back(item);
        }
        self.shared.waker.wake();
        Ok(())
    }

    /// Whether the receiver is gone (nothing sent now would be read).
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().receiver_gone
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut state = self.shared.state.lock();
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.shared.waker.wake();
        }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

/// The receiving side: one, owned by whoever drains the queue.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// What one look at the queue found.
enum Look<T> {
    Item(T),
    Empty,
    /// Empty, and no sender is left to fill it.
    Ended,
}

impl<T> Receiver<T> {
    /// The next item, waiting for one; `None` once the queue is empty and
    /// every sender is gone. Safe to cancel: an item is only taken when it is
    /// returned.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| {
            if let Some(found) = self.take() {
                return Poll::Ready(found);
            }
            self.shared.waker.register(cx.waker());
            // Anything sent between the first look and the registration woke
            // no one: look again.
            match self.take() {
                Some(found) => Poll::Ready(found),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// The next item if one is queued now.
    pub fn try_recv(&mut self) -> Option<T> {
        match self.look() {
            Look::Item(item) => Some(item),
            Look::Empty | Look::Ended => None,
        }
    }

    /// `Some` when [`recv`](Self::recv) has its answer.
    fn take(&mut self) -> Option<Option<T>> {
        match self.look() {
            Look::Item(item) => Some(Some(item)),
            Look::Ended => Some(None),
            Look::Empty => None,
        }
    }

    fn look(&mut self) -> Look<T> {
        let mut state = self.shared.state.lock();
        match state.items.pop_front() {
            Some(item) => {
                if state.items.is_empty() && state.items.capacity() > KEEP_AT_MOST {
                    state.items = VecDeque::new();
                }
                Look::Item(item)
            }
            None if state.senders == 0 => Look::Ended,
            None => Look::Empty,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // What is left is dropped outside the lock (it may hold anything).
        let left = {
            let mut state = self.shared.state.lock();
            state.receiver_gone = true;
            std::mem::take(&mut state.items)
        };
        drop(left);
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_in_order_and_a_full_queue_hands_the_item_back() {
        let (tx, mut rx) = bounded(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(Full(3)));
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(tx.try_send(3), Ok(()));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), Some(3));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn a_queue_without_its_receiver_is_closed() {
        let (tx, rx) = bounded(4);
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.try_send(1), Err(Closed(1)));
    }

    #[test]
    fn a_drained_burst_gives_its_buffer_back() {
        let (tx, mut rx) = bounded(1000);
        for n in 0..100 {
            assert_eq!(tx.try_send(n), Ok(()));
        }
        assert!(rx.shared.state.lock().items.capacity() >= 100);
        while rx.try_recv().is_some() {}
        assert_eq!(rx.shared.state.lock().items.capacity(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_receiver_wakes_for_items_from_other_threads_and_ends_with_the_last_sender() {
        let (tx, mut rx) = bounded(64);
        let senders: Vec<_> = (0..4)
            .map(|who| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for n in 0..1000u32 {
                        // A full queue here is the receiver being slow: try again.
                        let mut item = (who, n);
                        loop {
                            match tx.try_send(item) {
                                Ok(()) => break,
                                Err(Full(back)) => {
                                    item = back;
                                    tokio::task::yield_now().await;
                                }
                                Err(Closed(_)) => panic!("receiver gone"),
                            }
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut last = [None::<u32>; 4];
        let mut count = 0;
        while let Some((who, n)) = rx.recv().await {
            // Each sender's items arrive in its order.
            assert!(last[who].is_none_or(|before| before < n));
            last[who] = Some(n);
            count += 1;
        }
        assert_eq!(count, 4000);
        for sender in senders {
            sender.await.expect("sender task");
        }
    }
}
