//! Admin commands on accounts and players: kick, ban/unban, grant/revoke, role,
//! delete, setpassword. Each is one `store.accounts().change`: the actor's role
//! read fresh, the hierarchy, the change and its audit row in one transaction.

use super::super::common::{Named, find_person, which_names};
use super::super::parse::split_word;
use super::super::spec::{Group, Spec, done};
use super::super::table::is_command_word;
use super::super::{Ctx, Flow};
use super::{actor, change, refuse};
use crate::auth::Role;
use crate::game::Removal;
use crate::replies;
use crate::store::accounts::{AccountChange, PasswordRefused};
use crate::store::characters::{CharacterName, NewCharacter};
use crate::store::refusal::CharacterRefused;
use crate::world::Naming;

pub static KICK: Spec = Spec {
    name: "kick",
    usage: "/kick <character> [reason]",
    summary: "Disconnect a player, showing the reason.",
    details: "Disconnects a player, showing the reason; they may log in again.",
    example: "/kick Ann flooding the square",
    run: |ctx, spec, args| done(kick(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static BAN: Spec = Spec {
    name: "ban",
    usage: "/ban <account> [reason]",
    summary: "Deactivate an account and close its connections.",
    details: "Bans an account: its connections close and it cannot log in. The reason is shown to them.",
    example: "/ban Ann repeated abuse",
    run: |ctx, spec, args| done(ban(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static UNBAN: Spec = Spec {
    name: "unban",
    usage: "/unban <account>",
    summary: "Reactivate a banned account.",
    details: "Lifts a ban: the account may log in again. An account that is not banned is said so.",
    example: "/unban Ann",
    run: |ctx, spec, args| done(ban(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static NEWCHAR: Spec = Spec {
    name: "newchar",
    usage: "/newchar <account> <name>",
    summary: "Make a character for an account in this world.",
    details: "Makes a character for an account in this world (for servers where players do not make their own). In a world that gives names, the name may be left out.",
    example: "/newchar ann Wren",
    run: |ctx, _, args| done(new_character(ctx, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static GRANT: Spec = Spec {
    name: "grant",
    usage: "/grant <account> <world> [build]",
    summary: "Let an account into an invite-only world, or (build) build there.",
    details: "Lets an account into an invite-only world. With \"build\", lets a worldbuilder\nbuild in that world (and enter it); it takes effect at once.",
    example: "/grant ann lanternfall build",
    run: |ctx, spec, args| done(grant(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static REVOKE: Spec = Spec {
    name: "revoke",
    usage: "/revoke <account> <world> [build]",
    summary: "Withdraw an account's access to a world, or (build) its building there.",
    details: "Withdraws an account's access to an invite-only world. With \"build\", only the\nright to build there; it takes effect at once, even mid-build.",
    example: "/revoke ann lanternfall build",
    run: |ctx, spec, args| done(grant(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static ROLE: Spec = Spec {
    name: "role",
    usage: "/role <account> <role>",
    summary: "Change an account's role (to one below yours).",
    details: "Changes an account's role, to one below your own; it takes effect at once.",
    example: "/role ann worldbuilder",
    run: |ctx, spec, args| done(role(ctx, spec, args)),
    ..Spec::base(Group::Superuser, Role::Superuser)
};

pub static SETPASSWORD: Spec = Spec {
    name: "setpassword",
    usage: "/setpassword <account>",
    summary: "Set an account's password (you are asked for it).",
    details: "Sets an account's password; you are asked for it twice, hidden.",
    example: "/setpassword ann",
    run: |ctx, spec, args| Box::pin(set_password(ctx, spec, args)),
    ..Spec::base(Group::Superuser, Role::Superuser)
};

pub static DELETE: Spec = Spec {
    name: "delete",
    usage: "/delete <account>",
    summary: "Tombstone an account: login refused, characters kept but unlinked.",
    details: "Tombstones an account: login refused, characters kept but unlinked.",
    example: "/delete ann",
    run: |ctx, spec, args| done(delete(ctx, spec, args)),
    ..Spec::base(Group::Superuser, Role::Superuser)
};

/// `/kick <character> [reason]`: closes that player's connection, reason shown.
async fn kick(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (name, reason) = split_word(args);
    if name.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    // Players of this world first, then of every world.
    let target = match find_person(&ctx.game.players_in(&ctx.me.world), ctx.me, name) {
        Named::Nobody => find_person(&ctx.game.all_players(), ctx.me, name),
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
    if change(ctx, spec, &target.session.account, oversee)
        .await
        .is_none()
    {
        return;
    }
    target.session.kick(
        Removal::Kicked,
        format!("You have been kicked from the game: {reason}"),
    );
    ctx.reply(format!("{} has been kicked.", target.name));
}

/// `/ban <account> [reason]` and `/unban <account>`.
async fn ban(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (name, reason) = split_word(args);
    if name.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let unban = *spec == UNBAN;
    let order = if unban {
        AccountChange::Unban
    } else {
        let reason = (!reason.is_empty()).then(|| reason.to_string());
        AccountChange::Ban { reason }
    };
    let Some(done) = change(ctx, spec, name, order).await else {
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

/// `/grant <account> <world> [build]` and `/revoke <account> <world> [build]`.
async fn grant(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (name, rest) = split_word(args);
    let (world_id, what) = split_word(rest);
    let allow = *spec == GRANT;
    let build = match what.to_ascii_lowercase().as_str() {
        "" => false,
        "build" => true,
        _ => return ctx.reply(format!("Usage: {}", spec.usage)),
    };
    if name.is_empty() || world_id.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let Some(world) = ctx.game.world(world_id) else {
        return ctx.reply(format!("There is no world \"{world_id}\"."));
    };
    let world_id = world.id.clone();
    let order = if build {
        AccountChange::Build { world_id, allow }
    } else {
        AccountChange::Access { world_id, allow }
    };
    let Some(done) = change(ctx, spec, name, order).await else {
        return;
    };
    let account = &done.account.username;
    ctx.reply(match (build, allow) {
        (false, true) => format!("{account} may now enter {}.", world.name),
        (false, false) => format!(
            "{account} may no longer enter {} by invitation.",
            world.name
        ),
        (true, true) => format!("{account} may now build in {}.", world.name),
        (true, false) => format!("{account} may no longer build in {}.", world.name),
    });
}

/// `/role <account> <role>`: only to a role below the acting player's own. The
/// account's live sessions get the new role at once.
async fn role(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (name, role_text) = split_word(args);
    let Ok(role) = role_text.parse::<Role>() else {
        return ctx.reply("Usage: /role <account> <player|worldbuilder|admin|superuser>");
    };
    let Some(done) = change(ctx, spec, name, AccountChange::Role(role)).await else {
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
async fn delete(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (name, _) = split_word(args);
    if name.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    if let Some(done) = change(ctx, spec, name, AccountChange::Delete).await {
        ctx.reply(format!(
            "{} is deleted; its characters are kept, unlinked.",
            done.account.username
        ));
    }
}

/// `/setpassword <account>`: checks the hierarchy, then the session asks for the
/// new password with echo off and calls [`apply_password`].
async fn set_password(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) -> Flow {
    let (name, _) = split_word(args);
    if name.is_empty() {
        ctx.reply(format!("Usage: {}", spec.usage));
        return Flow::Continue;
    }
    // Any password will do for the check; the change itself checks again.
    let probe = AccountChange::Password {
        hash: String::new(),
    };
    let checked = ctx.game.may_change(actor(ctx, spec), name, probe).await;
    match checked {
        Ok(account) => Flow::SetPassword {
            account: account.username,
        },
        Err(refusal) => {
            refuse(ctx, spec, &refusal);
            Flow::Continue
        }
    }
}

/// Sets another account's password: policy, hash, then the change (hierarchy
/// checked again, audited).
pub async fn apply_password(ctx: &Ctx<'_>, name: &str, password: String) {
    let hash = match ctx.game.hash_new_password(&password).await {
        Ok(hash) => hash,
        Err(PasswordRefused::Weak(problems)) => return ctx.reply(problems.join("\n")),
        Err(PasswordRefused::Store(err)) => return ctx.store_trouble(&err),
    };
    let order = AccountChange::Password { hash };
    if let Some(done) = change(ctx, &SETPASSWORD, name, order).await {
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
async fn new_character(ctx: &Ctx<'_>, args: &str) {
    let (account, name) = split_word(args);
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    if account.is_empty() || (name.is_empty() && world.naming == Naming::Chosen) {
        return ctx.reply(format!("Usage: {}", NEWCHAR.usage));
    }
    let name = if name.is_empty() {
        CharacterName::Generated
    } else {
        CharacterName::Typed(name.to_string())
    };
    let character = NewCharacter::in_world(&world, name, is_command_word);
    let limits = ctx.game.character_limits();
    let order = AccountChange::NewCharacter { character, limits };
    if let Some(done) = change(ctx, &NEWCHAR, account, order).await {
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
        CharacterRefused::OtherWorld { world_id } => format!(
            "That account's characters live in {world_id}; this server keeps each account to one world."
        ),
        CharacterRefused::Store(err) => replies::store_error(err).to_string(),
    }
}
