//! The periodic upkeep job: what must happen with nobody typing anything.
//!
//! Every `upkeep_interval` it removes expired session rows (and closes the
//! connections behind them), deletes expired guest accounts (closing their
//! connections, keeping their characters unlinked), and brings changes made from
//! outside the game (the operator's shell) to live connections: a banned or
//! deleted account's connections are closed, each told which it was, and a
//! changed role reaches its sessions. Changes made in the game reach live connections at once (see
//! `Game::account_changed`); this is the catch-up for the shell, which never
//! talks to a running server.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;

use super::{Game, Removal};
use crate::replies;
use crate::store::StoreResult;
use crate::store::accounts::Standing;

/// Runs until the game shuts down.
pub async fn run(game: Arc<Game>) {
    // The first round comes one interval after the start, not at it: nobody
    // is connected yet, and a round racing the first logins only adds work.
    let every = game.config().upkeep_interval;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = game.shutdown_token().cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(err) = tick(&game).await {
            tracing::warn!(%err, "upkeep could not finish; it tries again next time");
        }
    }
}

/// One round of upkeep.
pub async fn tick(game: &Arc<Game>) -> StoreResult<()> {
    expire_sessions(game).await?;
    expire_guests(game).await?;
    catch_up_with_the_shell(game).await
}

async fn expire_sessions(game: &Game) -> StoreResult<()> {
    let expired: HashSet<String> = game
        .store()
        .sessions()
        .purge_expired()
        .await?
        .into_iter()
        .collect();
    if expired.is_empty() {
        return Ok(());
    }
    tracing::info!(count = expired.len(), "expired sessions removed");
    for session in game.registry().sessions() {
        if expired.contains(&session.session_id) {
            session.kick(Removal::SessionExpired, "Your session has expired.");
        }
    }
    Ok(())
}

async fn expire_guests(game: &Game) -> StoreResult<()> {
    let guests = game.store().admin().expired_guests(Utc::now()).await?;
    for (user_id, name) in guests {
        for session in game.registry().sessions_of(user_id) {
            session.kick(
                Removal::GuestExpired,
                "Your guest account has expired. Thank you for visiting.",
            );
        }
        game.store().admin().delete_guest(user_id).await?;
        tracing::info!(account = %name, "expired guest account deleted");
    }
    Ok(())
}

/// Closes the connections of accounts banned or deleted from outside this
/// server (the operator's shell, another server on the same file), telling
/// each player which of the two happened, and gives live sessions a role
/// changed there.
async fn catch_up_with_the_shell(game: &Game) -> StoreResult<()> {
    let sessions = game.registry().sessions();
    let mut live: Vec<i64> = sessions.iter().map(|s| s.user_id).collect();
    live.sort_unstable();
    live.dedup();
    if live.is_empty() {
        return Ok(());
    }
    let standing: HashMap<i64, Standing> = game
        .store()
        .accounts()
        .standing(live)
        .await?
        .into_iter()
        .collect();
    for session in sessions {
        match standing.get(&session.user_id) {
            Some(Standing::Active(role)) => game.give_role(&session, *role),
            Some(Standing::Banned) => session.kick(Removal::Banned, replies::BANNED),
            // Not in the answer at all: gone between the two reads.
            Some(Standing::Deleted) | None => session.kick(Removal::Deleted, replies::DELETED),
        }
    }
    Ok(())
}
