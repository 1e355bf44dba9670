//! Read-only admin views: accounts, live sessions, locations, and the database
//! tables (through an allowlist).

use super::super::Ctx;
use super::super::common::short_duration;
use super::super::parse::split_word;
use super::super::spec::{Group, Spec, done};
use super::{authorize, count_arg, table, table_at};
use crate::auth::Role;
use crate::store::accounts::Account;
use crate::store::admin;
use crate::store::lockout::{self, Count};
use chrono::{DateTime, Utc};

pub static USERS: Spec = Spec {
    name: "users",
    usage: "/users [filter]",
    summary: "List accounts: role, guest, active, last login.",
    details: "Lists accounts: role, guest, status, created and last login; a word filters by name.",
    example: "/users ann",
    run: |ctx, spec, args| done(users(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static SESSIONS: Spec = Spec {
    name: "sessions",
    usage: "/sessions",
    summary: "List live sessions: peer address, client, idle time.",
    details: "Lists live sessions: peer address, transport, client and idle time.",
    example: "/sessions",
    run: |ctx, spec, _| done(sessions(ctx, spec)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static WHERE: Spec = Spec {
    name: "where",
    usage: "/where",
    summary: "Show where every character in play stands.",
    details: "Shows where every character in play stands.",
    example: "/where",
    run: |ctx, spec, _| done(locations(ctx, spec)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static TABLES: Spec = Spec {
    name: "tables",
    usage: "/tables",
    summary: "List the database tables you may browse.",
    details: "Lists the database tables you may browse, with their sizes.",
    example: "/tables",
    run: |ctx, spec, _| done(tables(ctx, spec)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static ROWS: Spec = Spec {
    name: "rows",
    usage: "/rows <table> [limit] [offset]",
    summary: "Show rows of a database table.",
    details: "Shows rows of a table, one record per block (password hashes hidden).",
    example: "/rows users 5 10",
    run: |ctx, spec, args| done(rows(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

pub static CHATLOG: Spec = Spec {
    name: "chatlog",
    usage: "/chatlog [n]",
    summary: "Show the latest stored chat lines of every room.",
    details: "Shows the latest stored talk of every room, whispers and tells included.",
    example: "/chatlog 50",
    run: |ctx, spec, args| done(chatlog(ctx, spec, args)),
    ..Spec::base(Group::Admin, Role::Admin)
};

/// Accounts as a table: name, role, status, guest, created, last login (UTC,
/// to the minute). The one format of `/users` and `gaslamp user list`.
pub fn account_table(accounts: &[Account]) -> String {
    let now = Utc::now();
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|user| {
            vec![
                user.username.clone(),
                user.role.to_string(),
                status(user, now),
                if user.is_guest { "yes" } else { "no" }.to_string(),
                short_time(&user.created_at),
                user.last_login
                    .as_deref()
                    .map_or("never".into(), short_time),
            ]
        })
        .collect();
    let mut text = table(
        &["NAME", "ROLE", "STATUS", "GUEST", "CREATED", "LAST LOGIN"],
        &rows,
    );
    text.push('\n');
    text
}

/// How an account stands: deleted, banned, `locked until <YYYY-MM-DD HH:MM>`
/// (UTC; the strangers' lock, which every address the account has not
/// logged in from lately gets) or active.
fn status(user: &Account, now: DateTime<Utc>) -> String {
    let strangers = Count {
        failures: user.failed_attempts,
        until: user.lockout_until.clone(),
    };
    if user.tombstoned_at.is_some() {
        "deleted".into()
    } else if !user.is_active {
        "banned".into()
    } else if let Some(until) = strangers.locked_until(now) {
        let shown = lockout::shown_minute(until).format("%Y-%m-%d %H:%M");
        format!("locked until {shown}")
    } else {
        "active".into()
    }
}

/// `2024-05-01T12:34:56.789Z` as `2024-05-01 12:34` (UTC); anything else as is.
fn short_time(iso: &str) -> String {
    match iso.get(..16) {
        Some(minutes) if iso.ends_with('Z') => minutes.replacen('T', " ", 1),
        _ => iso.to_string(),
    }
}

/// `/users [filter]`: accounts with role, guest, active and last login.
async fn users(ctx: &Ctx<'_>, spec: &'static Spec, filter: &str) {
    let wanted = (!filter.is_empty()).then(|| filter.to_string());
    if !authorize(ctx, spec, None, wanted.clone()).await {
        return;
    }
    let list = match ctx.game.accounts(wanted.as_deref()).await {
        Ok(list) => list,
        Err(err) => return ctx.store_trouble(&err),
    };
    let n = list.len();
    let text = account_table(&list);
    ctx.reply(format!("{}\n{n} account(s).", text.trim_end()));
}

/// `/sessions`: every logged-in connection, and the table's row count beside it.
async fn sessions(ctx: &Ctx<'_>, spec: &'static Spec) {
    if !authorize(ctx, spec, None, None).await {
        return;
    }
    let live = ctx.game.sessions();
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
    let stored = ctx.game.session_rows().await;
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
async fn locations(ctx: &Ctx<'_>, spec: &'static Spec) {
    if !authorize(ctx, spec, None, None).await {
        return;
    }
    let worlds = ctx.game.worlds();
    let rows: Vec<Vec<String>> = ctx
        .game
        .all_players()
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
async fn tables(ctx: &Ctx<'_>, spec: &'static Spec) {
    if !authorize(ctx, spec, None, None).await {
        return;
    }
    let counts = match ctx.game.table_counts().await {
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
async fn rows(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
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
        return ctx.reply(format!("Usage: {}", spec.usage));
    };
    let detail = Some(format!("limit {limit} offset {offset}"));
    if !authorize(ctx, spec, Some(table_name), detail).await {
        return;
    }
    let found = ctx.game.table_rows(table_name, limit, offset).await;
    let found = match found {
        Ok(found) => found,
        Err(err) => return ctx.store_trouble(&err),
    };
    let n = found.rows.len();
    // A client that wraps itself still gets long values cut, at the usual width.
    let width = ctx
        .me
        .session
        .width()
        .unwrap_or(crate::text::wrap::DEFAULT_WIDTH);
    let blocks = records(&found.columns, &found.rows, width);
    ctx.reply(format!(
        "{blocks}{n} row(s) of {table_name} from offset {offset}."
    ));
}

/// Rows as one block each: a `column: value` line per column, each line cut to
/// `width` characters, a blank line after every block.
fn records(columns: &[String], rows: &[Vec<String>], width: usize) -> String {
    let label = columns.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for row in rows {
        for (column, value) in columns.iter().zip(row) {
            let line = format!("{column:<label$}: {value}");
            text.push_str(&cut_to(&line, width));
            text.push('\n');
        }
        text.push('\n');
    }
    text
}

/// `text` cut to `width` characters, an ellipsis marking the cut.
fn cut_to(text: &str, width: usize) -> String {
    let width = width.max(2);
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// `/chatlog [n]`: the latest stored talk of every room, whispers included.
async fn chatlog(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let Some(limit) = count_arg(args, 20, 200) else {
        return ctx.reply(format!("Usage: {}", spec.usage));
    };
    if !authorize(ctx, spec, None, Some(format!("{limit} lines"))).await {
        return;
    }
    let lines = match ctx.game.chat_log(limit).await {
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
                l.message.clone(),
            ]
        })
        .collect();
    // Whole messages (moderation reads them), each wrapped under its column.
    let width = ctx.me.session.width();
    ctx.reply(table_at(
        &["time", "room", "kind", "who", "message"],
        &rows,
        width,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn account(name: &str, role: Role, active: bool, last_login: Option<&str>) -> Account {
        Account {
            id: 1,
            username: name.into(),
            password_hash: String::new(),
            role,
            is_active: active,
            is_guest: false,
            guest_expires_at: None,
            failed_attempts: 0,
            lockout_until: None,
            created_at: "2026-11-29T10:00:00.000Z".into(),
            last_login: last_login.map(str::to_string),
            tombstoned_at: None,
            failed_since_login: 0,
        }
    }

    #[test]
    fn the_account_table_has_every_column() {
        let table = account_table(&[
            account(
                "Alice",
                Role::Superuser,
                true,
                Some("2026-11-29T12:34:56.789Z"),
            ),
            account("Bob", Role::Player, false, None),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("NAME   ROLE"), "{table}");
        assert!(lines[0].ends_with("LAST LOGIN"), "{table}");
        assert!(
            lines[1].starts_with("Alice  superuser  active  no"),
            "{table}"
        );
        assert!(lines[1].ends_with("2026-11-29 12:34"), "{table}");
        assert!(
            lines[2].starts_with("Bob    player     banned  no"),
            "{table}"
        );
        assert!(lines[2].ends_with("never"), "{table}");
    }

    /// Issue 22: a locked account was listed as `active`.
    #[test]
    fn a_locked_account_is_listed_as_locked_until_its_lock_ends() {
        let mut locked = account("Cleo", Role::Player, true, None);
        locked.failed_attempts = 5;
        locked.lockout_until = Some("2999-01-02T03:04:05.000Z".into());
        let mut over = account("Dov", Role::Player, true, None);
        over.lockout_until = Some("2001-01-02T03:04:05.000Z".into());
        let table = account_table(&[locked, over]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[1].contains("  locked until 2999-01-02 03:05  no"),
            "{table}"
        );
        assert!(
            lines[2].contains("  active  "),
            "a lock that ended: {table}"
        );
    }

    #[test]
    fn rows_are_blocks_of_column_value_lines_cut_at_the_width() {
        let columns = vec!["id".to_string(), "username".to_string()];
        let rows = vec![
            vec!["1".to_string(), "Alice".to_string()],
            vec!["2".to_string(), "B".repeat(50)],
        ];
        let text = records(&columns, &rows, 30);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id      : 1");
        assert_eq!(lines[1], "username: Alice");
        assert_eq!(lines[2], "");
        assert_eq!(lines[4].chars().count(), 30, "{text}");
        assert!(lines[4].ends_with('…'), "{text}");
    }

    #[test]
    fn times_are_shortened_to_the_minute() {
        assert_eq!(short_time("2024-05-01T12:34:56.789Z"), "2024-05-01 12:34");
        assert_eq!(short_time("then"), "then");
    }
}
