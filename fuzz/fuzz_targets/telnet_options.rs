//! The option table (`telnet::options`, RFC 1143's Q method): two tables —
//! the server's and a client's, each with a policy the input picks — ask
//! for options to be turned on and off while their messages are delivered
//! in an order the input picks. Every answer must be on the right side and
//! report exactly the change it made; a WONT or DONT always leaves the
//! option off; once every message is delivered (which must happen: the
//! method never loops), both sides agree on every option. A message from
//! outside the pair (a confused client) may come in too; then only the
//! per-answer checks apply (two sides out of step may answer each other
//! for ever, each taking the other's answer for a request).
//!
//! Input: 8 bytes of policy, then two bytes an operation (what, option).

#![no_main]

use std::collections::VecDeque;

use gaslamp::telnet::{Negotiated, OptionChange, OptionTable, Policy, Verb};
use libfuzzer_sys::fuzz_target;

const VERBS: [Verb; 4] = [Verb::Will, Verb::Wont, Verb::Do, Verb::Dont];

/// A few options, so that requests meet; sometimes any byte.
fn option(byte: u8) -> u8 {
    if byte & 0x80 == 0 {
        [1, 3, 24, 25, 31, 42, 86, 201][usize::from(byte & 7)]
    } else {
        byte
    }
}

/// A policy from two bytes: which of the few options each side allows.
fn policy(local: u8, remote: u8) -> Policy {
    (0..8u8).fold(Policy::new(), |policy, bit| {
        let opt = option(bit);
        let policy = if local >> bit & 1 == 1 {
            policy.allow_local(opt)
        } else {
            policy
        };
        if remote >> bit & 1 == 1 {
            policy.allow_remote(opt)
        } else {
            policy
        }
    })
}

/// One side of the pair: its table and the messages on their way to it.
struct Side {
    table: OptionTable,
    inbox: VecDeque<(Verb, u8)>,
}

/// Applies a received message and checks the answer; returns the reply.
fn receive(table: &mut OptionTable, verb: Verb, opt: u8) -> Option<(Verb, u8)> {
    let remote_side = matches!(verb, Verb::Will | Verb::Wont);
    let enabled = |t: &OptionTable| {
        if remote_side {
            t.remote_enabled(opt)
        } else {
            t.local_enabled(opt)
        }
    };
    let before = enabled(table);
    let Negotiated { reply, change } = table.receive(verb, opt);
    let after = enabled(table);
    if let Some((reply_verb, reply_opt)) = reply {
        assert_eq!(reply_opt, opt, "a reply names the option it answers");
        let answers_remote = matches!(reply_verb, Verb::Do | Verb::Dont);
        assert_eq!(
            answers_remote, remote_side,
            "{verb:?} answered with {reply_verb:?}"
        );
    }
    let flipped = match (remote_side, after) {
        (true, true) => OptionChange::RemoteEnabled(opt),
        (true, false) => OptionChange::RemoteDisabled(opt),
        (false, true) => OptionChange::LocalEnabled(opt),
        (false, false) => OptionChange::LocalDisabled(opt),
    };
    let expected = (before != after).then_some(flipped);
    assert_eq!(change, expected, "{verb:?} {opt}: {before} -> {after}");
    if matches!(verb, Verb::Wont | Verb::Dont) {
        assert!(!after, "{verb:?} {opt} left the option on");
    }
    reply
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (policies, ops) = data.split_at(8);
    let mut sides = [
        Side {
            table: OptionTable::new(policy(policies[0], policies[1])),
            inbox: VecDeque::new(),
        },
        Side {
            table: OptionTable::new(policy(policies[2], policies[3])),
            inbox: VecDeque::new(),
        },
    ];
    let mut in_step = true;
    let mut used = Vec::new();
    for op in ops.chunks_exact(2) {
        let (what, opt) = (op[0], option(op[1]));
        used.push(opt);
        let me = usize::from(what & 1);
        match (what >> 1) % 8 {
            0 => send(&mut sides, me, |t| t.enable_local(opt)),
            1 => send(&mut sides, me, |t| t.disable_local(opt)),
            2 => send(&mut sides, me, |t| t.enable_remote(opt)),
            3 => send(&mut sides, me, |t| t.disable_remote(opt)),
            4 | 5 => deliver(&mut sides, me),
            6 => {
                // From outside the pair: the other side never sent it.
                in_step = false;
                let verb = VERBS[usize::from(what >> 4 & 3)];
                receive(&mut sides[me].table, verb, opt);
            }
            _ => {}
        }
    }
    // Everything still on its way arrives; RFC 1143 never loops. A pair put
    // out of step by a message neither sent can: each side then answers
    // what it takes for a new request (the real server only ever answers,
    // and its client's messages are charged to the negotiation budget), so
    // that is only delivered for a while, its answers checked.
    let mut steps = 0;
    while !(sides[0].inbox.is_empty() && sides[1].inbox.is_empty()) {
        for me in 0..2 {
            deliver(&mut sides, me);
        }
        steps += 1;
        if !in_step && steps == 1_000 {
            return;
        }
        assert!(steps < 10_000, "negotiation did not settle");
    }
    if in_step {
        for opt in used {
            let [server, client] = &sides;
            assert_eq!(
                server.table.local_enabled(opt),
                client.table.remote_enabled(opt),
                "option {opt}"
            );
            assert_eq!(
                server.table.remote_enabled(opt),
                client.table.local_enabled(opt),
                "option {opt}"
            );
        }
    }
});

/// A request of side `me`: what it sends goes to the other side.
fn send(
    sides: &mut [Side; 2],
    me: usize,
    ask: impl FnOnce(&mut OptionTable) -> Option<(Verb, u8)>,
) {
    if let Some(message) = ask(&mut sides[me].table) {
        sides[1 - me].inbox.push_back(message);
    }
}

/// Side `me` reads the oldest message for it; its reply goes back.
fn deliver(sides: &mut [Side; 2], me: usize) {
    if let Some((verb, opt)) = sides[me].inbox.pop_front()
        && let Some(reply) = receive(&mut sides[me].table, verb, opt)
    {
        sides[1 - me].inbox.push_back(reply);
    }
}
