//! A builder's history: `/undo` and `/redo` (the builder's own last changes
//! in this world, kept in the database, so they outlast a restart and a
//! `/reload`), and `/builds`, the world's last changes by anyone, read from
//! the audit log.

use super::super::super::Ctx;
use super::super::super::spec::{Group, Spec, done};
use super::super::{authorize, count_arg, table};
use super::build;
use crate::auth::Role;
use crate::game::build::Ask;

pub static UNDO: Spec = Spec {
    name: "undo",
    usage: "/undo",
    summary: "Take back your last change in this world (20 are kept).",
    details: "Takes back your last change in this world that is not undone; your last 20\nare kept, across restarts. An undo is checked like any change: one that would\nnow leave an exit leading nowhere is refused, with the reason.",
    example: "/undo",
    run: |ctx, spec, _| done(undo(ctx, spec)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static REDO: Spec = Spec {
    name: "redo",
    usage: "/redo",
    summary: "Make your last undone change in this world again.",
    details: "Makes again the change you last undid in this world. A new change of yours\nforgets what you undid before it.",
    example: "/redo",
    run: |ctx, spec, _| done(redo(ctx, spec)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static BUILDS: Spec = Spec {
    name: "builds",
    usage: "/builds [n]",
    summary: "The last changes to this world: who, when, what.",
    details: "Lists the last n changes to this world by every builder (10, at most 100),\nnewest first, from the audit log: when, who, what and where.",
    example: "/builds 20",
    run: |ctx, spec, args| done(builds(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

async fn undo(ctx: &Ctx<'_>, spec: &'static Spec) {
    build(ctx, spec.name, ctx.me.room(), Ask::Undo).await;
}

async fn redo(ctx: &Ctx<'_>, spec: &'static Spec) {
    build(ctx, spec.name, ctx.me.room(), Ask::Redo).await;
}

/// `/builds [n]`: the world's last changes, newest first.
async fn builds(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let Some(limit) = count_arg(args, 10, 100) else {
        return ctx.reply(format!("Usage: {}", spec.usage));
    };
    if !authorize(ctx, spec, Some(&world.id), None).await {
        return;
    }
    let lines = match ctx.game.recent_builds(&world.id, limit).await {
        Ok(lines) => lines,
        Err(err) => return ctx.store_trouble(&err),
    };
    if lines.is_empty() {
        return ctx.reply(format!("Nobody has built in {} yet.", world.name));
    }
    let prefix = format!("{}/", world.id);
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            let target = line.target.as_deref().unwrap_or_default();
            vec![
                when(&line.created_at),
                line.account.clone().unwrap_or_else(|| "-".to_string()),
                line.action.trim_start_matches("build.").to_string(),
                target.strip_prefix(&prefix).unwrap_or(target).to_string(),
                line.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = format!("The last changes to {} (UTC):\n", world.name);
    text.push_str(&table(&["when", "who", "what", "where", "detail"], &rows));
    ctx.reply(text);
}

/// `2026-01-05 14:03` from a stored timestamp.
fn when(stored: &str) -> String {
    let text: String = stored.chars().take(16).collect();
    text.replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_to_the_minute() {
        assert_eq!(when("2026-01-05T14:03:12.123Z"), "2026-01-05 14:03");
        assert_eq!(when("short"), "short");
    }
}
