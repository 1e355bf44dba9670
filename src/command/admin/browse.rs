//! Read-only admin views: accounts, live sessions, locations, and the database
//! tables (through an allowlist).

use super::super::Ctx;
use super::super::common::short_duration;
use super::super::parse::{Admin, split_word};
use super::{authorize, count_arg, table};
use crate::store::admin;

/// Longest cell shown by `/rows` and `/chatlog`.
const MAX_CELL: usize = 60;

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_CELL {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_CELL - 1).collect();
    cut.push('…');
    cut
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_string()
}

/// `/users [filter]`: accounts with role, guest, active and last login.
pub async fn users(ctx: &Ctx<'_>, filter: &str) {
    let wanted = (!filter.is_empty()).then(|| filter.to_string());
    if !authorize(ctx, Admin::Users, None, wanted.clone()).await {
        return;
    }
    let list = match ctx.game.store().accounts().list(wanted.as_deref()).await {
        Ok(list) => list,
        Err(err) => return ctx.store_trouble(&err),
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            vec![
                a.username.clone(),
                a.role.to_string(),
                yes_no(a.is_guest),
                if a.tombstoned_at.is_some() {
                    "deleted".into()
                } else {
                    yes_no(a.is_active)
                },
                a.last_login.clone().unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    let n = rows.len();
    let text = table(&["account", "role", "guest", "active", "last login"], &rows);
    ctx.reply(format!("{text}\n{n} account(s)."));
}

/// `/sessions`: every logged-in connection, and the table's row count beside it.
pub async fn sessions(ctx: &Ctx<'_>) {
    if !authorize(ctx, Admin::Sessions, None, None).await {
        return;
    }
    let live = ctx.game.registry().sessions();
    let rows: Vec<Vec<String>> = live
        .iter()
        .map(|s| {
            vec![
                s.account.clone(),
                s.character()
                    .map_or_else(|| "(menu)".into(), |c| c.to_string()),
                s.peer.addr.to_string(),
                s.peer.transport.as_str().to_string(),
                format!("{} ({})", s.client(), s.profile().summary()),
                short_duration(s.idle()),
            ]
        })
        .collect();
    let stored = ctx.game.store().sessions().count().await;
    let mut text = table(
        &[
            "account",
            "character",
            "peer",
            "transport",
            "client",
            "idle",
        ],
        &rows,
    );
    text.push_str(&format!("\n{} live session(s)", live.len()));
    if let Ok(stored) = stored {
        text.push_str(&format!("; {stored} row(s) in the sessions table"));
    }
    text.push('.');
    ctx.reply(text);
}

/// `/where`: every character in play and where it stands.
pub async fn locations(ctx: &Ctx<'_>) {
    if !authorize(ctx, Admin::Where, None, None).await {
        return;
    }
    let worlds = ctx.game.worlds();
    let rows: Vec<Vec<String>> = ctx
        .game
        .registry()
        .players(None)
        .iter()
        .map(|p| {
            let room = p.room();
            let room_name = worlds
                .get(&p.world)
                .and_then(|w| w.room(&room).map(|r| r.name.clone()))
                .unwrap_or_default();
            vec![
                p.name.to_string(),
                p.session.account.clone(),
                p.world.to_string(),
                format!("{room_name} ({room})"),
            ]
        })
        .collect();
    let n = rows.len();
    let text = table(&["character", "account", "world", "room"], &rows);
    ctx.reply(format!("{text}\n{n} character(s) in play."));
}

/// `/tables`: the tables `/rows` may show, with their sizes.
pub async fn tables(ctx: &Ctx<'_>) {
    if !authorize(ctx, Admin::Tables, None, None).await {
        return;
    }
    let counts = match ctx.game.store().admin().table_counts().await {
        Ok(counts) => counts,
        Err(err) => return ctx.store_trouble(&err),
    };
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|(name, n)| vec![name.to_string(), n.to_string()])
        .collect();
    ctx.reply(table(&["table", "rows"], &rows));
}

/// `/rows <table> [limit] [offset]`.
pub async fn rows(ctx: &Ctx<'_>, args: &str) {
    let (name, rest) = split_word(args);
    let (limit, offset) = split_word(rest);
    let Some(table_name) = admin::browsable(name) else {
        return ctx.reply(format!(
            "You can browse these tables: {}.",
            admin::BROWSABLE_TABLES.join(", ")
        ));
    };
    let (Some(limit), Some(offset)) = (count_arg(limit, 20, 100), count_arg(offset, 0, i64::MAX))
    else {
        return ctx.reply("Usage: /rows <table> [limit] [offset]");
    };
    let detail = Some(format!("limit {limit} offset {offset}"));
    if !authorize(ctx, Admin::Rows, Some(table_name), detail).await {
        return;
    }
    let found = ctx
        .game
        .store()
        .admin()
        .table_rows(table_name, limit, offset)
        .await;
    let found = match found {
        Ok(found) => found,
        Err(err) => return ctx.store_trouble(&err),
    };
    let headers: Vec<&str> = found.columns.iter().map(String::as_str).collect();
    let cells: Vec<Vec<String>> = found
        .rows
        .iter()
        .map(|row| row.iter().map(|c| cut(c)).collect())
        .collect();
    let n = cells.len();
    ctx.reply(format!(
        "{}\n{n} row(s) of {table_name} from offset {offset}.",
        table(&headers, &cells)
    ));
}

/// `/chatlog [n]`: the latest stored talk of every room, whispers included.
pub async fn chatlog(ctx: &Ctx<'_>, args: &str) {
    let Some(limit) = count_arg(args, 20, 200) else {
        return ctx.reply("Usage: /chatlog [n]");
    };
    if !authorize(ctx, Admin::Chatlog, None, Some(format!("{limit} lines"))).await {
        return;
    }
    // Lines said a moment ago may still be on their way to the disk.
    let _ = ctx.game.writer().flush().await;
    let lines = match ctx.game.store().chat().recent(limit).await {
        Ok(lines) => lines,
        Err(err) => return ctx.store_trouble(&err),
    };
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            let who = match (&l.speaker, &l.recipient) {
                (Some(s), Some(r)) => format!("{s} -> {r}"),
                (Some(s), None) => s.clone(),
                (None, _) => "?".into(),
            };
            vec![
                l.created_at.chars().take(19).collect(),
                format!("{}/{}", l.world_id, l.room),
                l.kind.clone(),
                who,
                cut(&l.message),
            ]
        })
        .collect();
    ctx.reply(table(&["time", "room", "kind", "who", "message"], &rows));
}
