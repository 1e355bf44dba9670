//! `/copyover [reason]` (SPEC §15): replaces the running server by the
//! binary at `--exe`, keeping every player connected. The handler only asks
//! (`Game::handoffs().request`, which refuses a second upgrade at once); the
//! server's upgrade task carries it out, and the admin hears here only if it
//! failed — a successful upgrade is `Upgrade complete.` for everyone.

use super::super::Ctx;
use super::super::spec::{Group, Spec, done};
use super::authorize;
use crate::auth::Role;
use crate::game::Message;
use crate::text::sanitize;

pub static COPYOVER: Spec = Spec {
    name: "copyover",
    usage: "/copyover [reason]",
    summary: "Upgrade the server to a new binary, keeping everyone connected.",
    details: "Replaces the running server by the binary at --exe (by default the one it was started from), after that binary checked itself. Players see \"The server is being upgraded; please wait.\", then \"Upgrade complete.\" and their prompt; nobody is disconnected. A second upgrade while one runs is refused.",
    example: "/copyover the lamps burn brighter",
    run: |ctx, spec, args| done(copyover(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

/// `/copyover [reason]`.
async fn copyover(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let reason = sanitize(args.trim());
    let detail = (!reason.is_empty()).then(|| reason.clone());
    if !authorize(ctx, spec, None, detail).await {
        return;
    }
    let reason = if reason.is_empty() {
        format!("/copyover by {}", ctx.me.session.account)
    } else {
        reason
    };
    let outcome = match ctx.game.handoffs().request(&reason) {
        Ok(outcome) => outcome,
        Err(refused) => return ctx.reply(refused.to_string()),
    };
    // The game and the front apart: a fix to the TLS or WebSocket code is
    // deployed only by a front that is upgraded too (there is none yet).
    ctx.reply(format!(
        "Upgrading from gaslamp {} (the game; front: none, so TLS players will be asked to reconnect).",
        env!("CARGO_PKG_VERSION")
    ));
    // Answered only if it fails; on the game's tracker, so a shutdown waits.
    let outbox = ctx.me.session.outbox.clone();
    ctx.game.tasks().spawn(async move {
        if let Ok(Err(reason)) = outcome.await {
            outbox.send(Message::Line(
                format!("The upgrade failed: {reason}.").into(),
            ));
        }
    });
}
