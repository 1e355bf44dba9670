//! The periodic upkeep job: what must happen with nobody typing anything.
//!
//! Every `upkeep_interval` it removes expired session rows (and closes the
//! connections behind them), deletes expired guest accounts (closing their
//! connections, keeping their characters unlinked), and closes the connections of
//! accounts banned or deleted from outside the game (the operator's shell).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;

use super::Game;
use crate::store::{StoreResult, admin, sessions};

/// Runs until the game shuts down.
pub async fn run(game: Arc<Game>) {
    let mut ticker = tokio::time::interval(game.config.upkeep_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = game.shutdown.cancelled() => return,
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
    close_unwelcome(game).await
}

async fn expire_sessions(game: &Game) -> StoreResult<()> {
    let expired: HashSet<String> = game
        .store
        .call(sessions::purge_expired)
        .await?
        .into_iter()
        .collect();
    if expired.is_empty() {
        return Ok(());
    }
    tracing::info!(count = expired.len(), "expired sessions removed");
    for session in game.registry.sessions() {
        if expired.contains(&session.session_id) {
            session.kick("Your session has expired.");
        }
    }
    Ok(())
}

async fn expire_guests(game: &Game) -> StoreResult<()> {
    let guests = game
        .store
        .call(|db| admin::expired_guests(db, Utc::now()))
        .await?;
    for (user_id, name) in guests {
        for session in game.registry.sessions_of(user_id) {
            session.kick("Your guest account has expired. Thank you for visiting.");
        }
        game.store
            .call(move |db| admin::delete_guest(db, user_id))
            .await?;
        tracing::info!(account = %name, "expired guest account deleted");
    }
    Ok(())
}

async fn close_unwelcome(game: &Game) -> StoreResult<()> {
    let mut live: Vec<i64> = game.registry.sessions().iter().map(|s| s.user_id).collect();
    live.sort_unstable();
    live.dedup();
    if live.is_empty() {
        return Ok(());
    }
    let unwelcome = game
        .store
        .call(move |db| admin::unwelcome_accounts(db, &live))
        .await?;
    for user_id in unwelcome {
        for session in game.registry.sessions_of(user_id) {
            session.kick("This account is banned.");
        }
    }
    Ok(())
}
