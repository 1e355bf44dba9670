//! Admin commands on accounts and players: kick, ban/unban, grant/revoke, role,
//! delete, setpassword.

use super::super::parse::split_word;
use super::super::{Ctx, Flow};
use super::{entry, manageable, may_manage};
use crate::auth::Role;
use crate::auth::password::policy_problems;
use crate::store::accounts::{self as account_rows};
use crate::store::admin;

/// `/kick <character> [reason]`: closes that player's connection, reason shown.
pub async fn kick(ctx: &Ctx<'_>, args: &str) {
    let (name, reason) = split_word(args);
    if name.is_empty() {
        return ctx.reply("Usage: /kick <character> [reason]");
    }
    let registry = &ctx.game.registry;
    let target = registry.find_by_name(&ctx.me.world, name).or_else(|| {
        registry
            .players(None)
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    });
    let Some(target) = target else {
        return ctx.reply(format!("{name} is not playing."));
    };
    let user_id = target.user_id();
    let account = match ctx
        .game
        .store
        .call(move |db| account_rows::account_by_id(db, user_id))
        .await
    {
        Ok(Some(account)) => account,
        Ok(None) => return ctx.reply(format!("{name} has no account any more.")),
        Err(err) => return ctx.store_trouble(&err),
    };
    if !may_manage(ctx, &account) {
        return;
    }
    let reason = if reason.is_empty() {
        "no reason given"
    } else {
        reason
    };
    target
        .session
        .kick(format!("You have been kicked from the game: {reason}"));
    super::audit(ctx, "kick", Some(&target.name), Some(reason.to_string())).await;
    ctx.reply(format!("{} has been kicked.", target.name));
}

/// `/ban <account> [reason]` and `/unban <account>`.
pub async fn ban(ctx: &Ctx<'_>, args: &str, unban: bool) {
    let (name, reason) = split_word(args);
    if name.is_empty() {
        return ctx.reply(if unban {
            "Usage: /unban <account>"
        } else {
            "Usage: /ban <account> [reason]"
        });
    }
    let Some(account) = manageable(ctx, name).await else {
        return;
    };
    let action = if unban { "unban" } else { "ban" };
    let row = entry(
        ctx,
        action,
        Some(&account.username),
        (!reason.is_empty()).then(|| reason.to_string()),
    );
    let id = account.id;
    if let Err(err) = ctx
        .game
        .store
        .call(move |db| {
            admin::audited(db, &row, |tx| account_rows::update_active_in(tx, id, unban))
        })
        .await
    {
        return ctx.store_trouble(&err);
    }
    if unban {
        return ctx.reply(format!("{} may log in again.", account.username));
    }
    for session in ctx.game.registry.sessions_of(account.id) {
        session.kick("This account is banned.");
    }
    ctx.reply(format!("{} is banned.", account.username));
}

/// `/grant <account> <world>` and `/revoke <account> <world>`.
pub async fn grant(ctx: &Ctx<'_>, args: &str, allow: bool) {
    let (name, world_id) = split_word(args);
    if name.is_empty() || world_id.is_empty() {
        let verb = if allow { "grant" } else { "revoke" };
        return ctx.reply(format!("Usage: /{verb} <account> <world>"));
    }
    let Some(world) = ctx.game.world(world_id) else {
        return ctx.reply(format!("There is no world \"{world_id}\"."));
    };
    let Some(account) = manageable(ctx, name).await else {
        return;
    };
    let action = if allow { "grant" } else { "revoke" };
    let row = entry(ctx, action, Some(&account.username), Some(world.id.clone()));
    let (user_id, granted_by, world_key) = (account.id, ctx.me.user_id(), world.id.clone());
    if let Err(err) = ctx
        .game
        .store
        .call(move |db| {
            admin::audited(db, &row, |tx| {
                admin::set_world_access(tx, user_id, &world_key, granted_by, allow)
            })
        })
        .await
    {
        return ctx.store_trouble(&err);
    }
    if allow {
        ctx.reply(format!(
            "{} may now enter {}.",
            account.username, world.name
        ));
    } else {
        ctx.reply(format!(
            "{} may no longer enter {} by invitation.",
            account.username, world.name
        ));
    }
}

/// `/role <account> <role>`: only to a role below the acting player's own.
pub async fn role(ctx: &Ctx<'_>, args: &str) {
    let (name, role_text) = split_word(args);
    let Ok(role) = role_text.parse::<Role>() else {
        return ctx.reply("Usage: /role <account> <player|worldbuilder|admin|superuser>");
    };
    if role >= ctx.me.role() {
        return ctx.reply(format!(
            "You can only give roles below your own ({}).",
            ctx.me.role()
        ));
    }
    let Some(account) = manageable(ctx, name).await else {
        return;
    };
    let row = entry(
        ctx,
        "role",
        Some(&account.username),
        Some(format!("{} -> {role}", account.role)),
    );
    let id = account.id;
    if let Err(err) = ctx
        .game
        .store
        .call(move |db| admin::audited(db, &row, |tx| account_rows::update_role_in(tx, id, role)))
        .await
    {
        return ctx.store_trouble(&err);
    }
    ctx.reply(format!(
        "{} is now {role} (from their next login).",
        account.username
    ));
}

/// `/delete <account>`: tombstone; characters kept but unlinked, sessions closed.
pub async fn delete(ctx: &Ctx<'_>, args: &str) {
    let (name, _) = split_word(args);
    if name.is_empty() {
        return ctx.reply("Usage: /delete <account>");
    }
    let Some(account) = manageable(ctx, name).await else {
        return;
    };
    let row = entry(ctx, "delete", Some(&account.username), None);
    let id = account.id;
    if let Err(err) = ctx
        .game
        .store
        .call(move |db| admin::audited(db, &row, |tx| admin::tombstone(tx, id)))
        .await
    {
        return ctx.store_trouble(&err);
    }
    for session in ctx.game.registry.sessions_of(account.id) {
        session.kick("This account has been deleted.");
    }
    ctx.reply(format!(
        "{} is deleted; its characters are kept, unlinked.",
        account.username
    ));
}

/// `/setpassword <account>`: checks the hierarchy, then the session asks for the
/// new password with echo off and calls [`apply_password`].
pub async fn set_password(ctx: &Ctx<'_>, args: &str) -> Flow {
    let (name, _) = split_word(args);
    if name.is_empty() {
        ctx.reply("Usage: /setpassword <account>");
        return Flow::Continue;
    }
    match manageable(ctx, name).await {
        Some(account) => Flow::SetPassword {
            account: account.username,
        },
        None => Flow::Continue,
    }
}

/// Sets another account's password after the policy check; audited.
pub async fn apply_password(ctx: &Ctx<'_>, name: &str, password: String) {
    let problems = policy_problems(&password);
    if !problems.is_empty() {
        return ctx.reply(problems.join("\n"));
    }
    // The hierarchy is checked again: the account may have changed meanwhile.
    let Some(account) = manageable(ctx, name).await else {
        return;
    };
    let hash = match ctx.game.store.hash_password(password).await {
        Ok(hash) => hash,
        Err(err) => return ctx.store_trouble(&err),
    };
    let row = entry(ctx, "setpassword", Some(&account.username), None);
    let id = account.id;
    match ctx
        .game
        .store
        .call(move |db| {
            admin::audited(db, &row, |tx| {
                account_rows::reset_password_in(tx, id, &hash)
            })
        })
        .await
    {
        Ok(()) => ctx.reply(format!("The password of {} is changed.", account.username)),
        Err(err) => ctx.store_trouble(&err),
    }
}
