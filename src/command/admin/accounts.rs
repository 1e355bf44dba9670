//! Admin commands on accounts and players: kick, ban/unban, grant/revoke, role,
//! delete, setpassword. Each is one `store.accounts().change`: the actor's role
//! read fresh, the hierarchy, the change and its audit row in one transaction.

use super::super::common::{Named, find_person, which_names};
use super::super::parse::{Admin, split_word};
use super::super::{Ctx, Flow};
use super::{actor, change, refuse};
use crate::auth::Role;
use crate::command::is_command_word;
use crate::replies;
use crate::store::accounts::{AccountChange, PasswordRefused};
use crate::store::characters::{CharacterName, NewCharacter};
use crate::store::refusal::CharacterRefused;
use crate::world::Naming;

/// `/kick <character> [reason]`: closes that player's connection, reason shown.
pub async fn kick(ctx: &Ctx<'_>, args: &str) {
    let (name, reason) = split_word(args);
    if name.is_empty() {
        return ctx.reply("Usage: /kick <character> [reason]");
    }
    // Players of this world first, then of every world.
    let registry = ctx.game.registry();
    let target = match find_person(&registry.players(Some(&ctx.me.world)), ctx.me, name) {
        Named::Nobody => find_person(&registry.players(None), ctx.me, name),
        named => named,
    };
    let target = match target {
        Named::One(target) => target,
        Named::Several(names) => return ctx.reply(which_names(&names)),
        Named::Nobody => return ctx.reply(format!("{name} is not playing.")),
    };
    let reason = if reason.is_empty() {
        "no reason given"
    } else {
        reason
    };
    let oversee = AccountChange::Oversee {
        detail: Some(format!("{}: {reason}", target.name)),
    };
    if change(ctx, Admin::Kick, &target.session.account, oversee)
        .await
        .is_none()
    {
        return;
    }
    target
        .session
        .kick(format!("You have been kicked from the game: {reason}"));
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
    let (verb, order) = if unban {
        (Admin::Unban, AccountChange::Unban)
    } else {
        let reason = (!reason.is_empty()).then(|| reason.to_string());
        (Admin::Ban, AccountChange::Ban { reason })
    };
    let Some(done) = change(ctx, verb, name, order).await else {
        return;
    };
    let account = &done.account.username;
    ctx.reply(match (unban, done.changed) {
        (true, true) => format!("{account} may log in again."),
        (true, false) => format!("{account} is not banned."),
        (false, true) => format!("{account} is banned."),
        (false, false) => format!("{account} is already banned."),
    });
}

/// `/grant <account> <world>` and `/revoke <account> <world>`.
pub async fn grant(ctx: &Ctx<'_>, args: &str, allow: bool) {
    let (name, world_id) = split_word(args);
    let verb = if allow { Admin::Grant } else { Admin::Revoke };
    if name.is_empty() || world_id.is_empty() {
        return ctx.reply(format!("Usage: /{} <account> <world>", super::name(verb)));
    }
    let Some(world) = ctx.game.world(world_id) else {
        return ctx.reply(format!("There is no world \"{world_id}\"."));
    };
    let access = AccountChange::Access {
        world_id: world.id.clone(),
        allow,
    };
    let Some(done) = change(ctx, verb, name, access).await else {
        return;
    };
    let account = &done.account.username;
    if allow {
        ctx.reply(format!("{account} may now enter {}.", world.name));
    } else {
        ctx.reply(format!(
            "{account} may no longer enter {} by invitation.",
            world.name
        ));
    }
}

/// `/role <account> <role>`: only to a role below the acting player's own. The
/// account's live sessions get the new role at once.
pub async fn role(ctx: &Ctx<'_>, args: &str) {
    let (name, role_text) = split_word(args);
    let Ok(role) = role_text.parse::<Role>() else {
        return ctx.reply("Usage: /role <account> <player|worldbuilder|admin|superuser>");
    };
    let Some(done) = change(ctx, Admin::Role, name, AccountChange::Role(role)).await else {
        return;
    };
    let account = &done.account.username;
    ctx.reply(if done.changed {
        format!("{account} is now {role}.")
    } else {
        format!("{account} already is {role}.")
    });
}

/// `/delete <account>`: tombstone; characters kept but unlinked, sessions closed.
pub async fn delete(ctx: &Ctx<'_>, args: &str) {
    let (name, _) = split_word(args);
    if name.is_empty() {
        return ctx.reply("Usage: /delete <account>");
    }
    if let Some(done) = change(ctx, Admin::Delete, name, AccountChange::Delete).await {
        ctx.reply(format!(
            "{} is deleted; its characters are kept, unlinked.",
            done.account.username
        ));
    }
}

/// `/setpassword <account>`: checks the hierarchy, then the session asks for the
/// new password with echo off and calls [`apply_password`].
pub async fn set_password(ctx: &Ctx<'_>, args: &str) -> Flow {
    let (name, _) = split_word(args);
    if name.is_empty() {
        ctx.reply("Usage: /setpassword <account>");
        return Flow::Continue;
    }
    // Any password will do for the check; the change itself checks again.
    let probe = AccountChange::Password {
        hash: String::new(),
    };
    let checked = ctx
        .game
        .store()
        .accounts()
        .check_change(actor(ctx, Admin::SetPassword), name, probe)
        .await;
    match checked {
        Ok(account) => Flow::SetPassword {
            account: account.username,
        },
        Err(refusal) => {
            refuse(ctx, Admin::SetPassword, &refusal);
            Flow::Continue
        }
    }
}

/// Sets another account's password: policy, hash, then the change (hierarchy
/// checked again, audited).
pub async fn apply_password(ctx: &Ctx<'_>, name: &str, password: String) {
    let hash = match ctx
        .game
        .store()
        .accounts()
        .hash_new_password(&password)
        .await
    {
        Ok(hash) => hash,
        Err(PasswordRefused::Weak(problems)) => return ctx.reply(problems.join("\n")),
        Err(PasswordRefused::Store(err)) => return ctx.store_trouble(&err),
    };
    let order = AccountChange::Password { hash };
    if let Some(done) = change(ctx, Admin::SetPassword, name, order).await {
        ctx.reply(format!(
            "The password of {} is changed.",
            done.account.username
        ));
    }
}

/// `/newchar <account> [name]`: a character for that account in this world,
/// for servers where players do not make their own (`--player-characters off`).
/// Without a name, a world that gives names makes one up. The name and the
/// account's slots are decided where the character is inserted, by the one
/// path that makes characters.
pub async fn new_character(ctx: &Ctx<'_>, args: &str) {
    let (account, name) = split_word(args);
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    if account.is_empty() || (name.is_empty() && world.naming == Naming::Chosen) {
        return ctx.reply("Usage: /newchar <account> <name>");
    }
    let name = if name.is_empty() {
        CharacterName::Generated
    } else {
        CharacterName::Typed(name.to_string())
    };
    let character = NewCharacter::in_world(&world, name, is_command_word);
    let slots = ctx.game.config().character_slots;
    let order = AccountChange::NewCharacter { character, slots };
    if let Some(done) = change(ctx, Admin::NewChar, account, order).await {
        let name = done.character.map(|made| made.name).unwrap_or_default();
        ctx.reply(format!(
            "{} now has a character called {name} in {}.",
            done.account.username, world.name
        ));
    }
}

/// Why `/newchar` made no character, in the admin's words.
pub(super) fn character_refused(refused: &CharacterRefused) -> String {
    match refused {
        CharacterRefused::BadName(rule) => rule.clone(),
        CharacterRefused::SlotsFull { limit } => {
            format!("That account already has {limit} characters in this world, the most allowed.")
        }
        CharacterRefused::NameTaken { .. } => {
            "That name is already taken in this world.".to_string()
        }
        CharacterRefused::Store(err) => replies::store_error(err).to_string(),
    }
}
