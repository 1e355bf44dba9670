//! A session's end runs however its task ends: the registry entry goes, the
//! session row goes, and the room hears that the player left — after a quit
//! (elsewhere), and here after a panic inside the connection's task and after
//! the task is cancelled from outside.
//!
//! The panic is a real one, reached honestly: `session::serve` takes any byte
//! stream, and the test hands it a stream that panics when it is next read, as
//! a buggy transport adapter would. No hook in the server's code paths exists
//! for this; the panic happens inside the session task's own read, while the
//! character is in play.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use gaslamp::game::{Peer, Transport};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio_util::task::TaskTracker;

use crate::support::*;

/// A duplex stream whose next read panics once it is armed.
struct Booby {
    inner: DuplexStream,
    armed: Arc<AtomicBool>,
}

impl AsyncRead for Booby {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let ready = Pin::new(&mut self.inner).poll_read(cx, buf);
        if ready.is_ready() && self.armed.load(Ordering::SeqCst) {
            panic!("the test's stream panics inside the session task");
        }
        ready
    }
}

impl AsyncWrite for Booby {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A player in play over a [`Booby`] stream served by the real
/// `session::serve`, with a TCP player watching in the same room.
struct Scene {
    server: TestServer,
    player: Client,
    watcher: Client,
    armed: Arc<AtomicBool>,
    tracker: TaskTracker,
    served: tokio::task::JoinHandle<()>,
}

async fn scene(dir: &std::path::Path) -> Scene {
    let server = TestServer::start(dir).await;
    let mut watcher = server.connect().await;
    watcher.create("Wanda", PASSWORD).await;
    watcher.enter("1").await;
    let (ours, theirs) = tokio::io::duplex(16 * 1024);
    let armed = Arc::new(AtomicBool::new(false));
    let stream = Booby {
        inner: theirs,
        armed: armed.clone(),
    };
    let peer = Peer {
        addr: "192.0.2.9:4000".parse().expect("address"),
        transport: Transport::Plain,
    };
    let tracker = TaskTracker::new();
    let served = tokio::spawn(gaslamp::session::serve(
        server.game.clone(),
        stream,
        peer,
        tracker.clone(),
    ));
    let mut player = Client::over(ours);
    player.create("Boris", PASSWORD).await;
    player.enter("1").await;
    watcher.expect("Boris arrives.").await;
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 2);
    Scene {
        server,
        player,
        watcher,
        armed,
        tracker,
        served,
    }
}

/// The records of Boris's session are gone, and Wanda heard him leave.
async fn assert_ended(scene: &mut Scene) {
    scene.watcher.expect("Boris leaves the game.").await;
    // Whatever the session's end left to do runs on the tracker it was given.
    scene.tracker.close();
    tokio::time::timeout(PATIENCE, scene.tracker.wait())
        .await
        .expect("the session's tasks end");
    let accounts: Vec<String> = scene
        .server
        .game
        .sessions()
        .iter()
        .map(|s| s.account.clone())
        .collect();
    assert_eq!(accounts, ["Wanda"], "only Wanda is still registered");
    let rows: Vec<String> = {
        let db = scene.server.db();
        let mut rows = db
            .prepare("SELECT u.username FROM sessions s JOIN users u ON u.id = s.user_id")
            .expect("query");
        rows.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("names")
    };
    assert_eq!(rows, ["Wanda"], "Boris's session row is gone");
    // The connection is closed once the records are cleaned up.
    scene.player.expect_closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_panic_in_the_session_task_still_ends_the_session() {
    let dir = temp_dir();
    let mut scene = scene(dir.path()).await;
    scene.armed.store(true, Ordering::SeqCst);
    // The read that wakes on this line panics inside the session task.
    scene.player.send("look").await;
    let ended = tokio::time::timeout(PATIENCE, &mut scene.served)
        .await
        .expect("the session task ends");
    assert!(
        ended.is_err_and(|e| e.is_panic()),
        "the task ended by the panic"
    );
    assert_ended(&mut scene).await;
    scene.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_session_task_still_ends_the_session() {
    let dir = temp_dir();
    let mut scene = scene(dir.path()).await;
    scene.served.abort();
    let ended = tokio::time::timeout(PATIENCE, &mut scene.served)
        .await
        .expect("the session task ends");
    assert!(
        ended.is_err_and(|e| e.is_cancelled()),
        "the task was cancelled"
    );
    assert_ended(&mut scene).await;
    scene.server.stop().await;
}
