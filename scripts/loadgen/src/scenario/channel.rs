//! `channel` (issue 17): a server-wide channel heard across two worlds.
//!
//! 2,000 players over 100 rooms of two generated worlds (50 rooms each, the
//! second world's players making a character there from the menu), every one
//! listening on `ooc`; 10 of them, spread over both worlds, say 2 lines a
//! second on it for 10 s. Every line must reach the 1,999 others (target:
//! zero lost), in whichever world they are — those in the other world see
//! the speaker as `<Name>@<world>`.
//!
//! The latency is set beside the crowded room's (the `room` scenario's crowd:
//! 500 players in one room, 10 speakers at 10 lines a second), measured first
//! on a server of its own, since that is the goal: a channel line reaching
//! 2,000 listeners within 1.5 times the p99 of a room line reaching 500.

use serde_json::json;

use super::Site;
use super::chat::{latency, talk, talk_by};
use crate::Ctx;
use crate::client::name;
use crate::crowd::{Login, Member, Speech};
use crate::report::{Figure, Outcome};
use crate::stats::round3;
use crate::world::SECOND_WORLD_ID;

/// The goal: the channel's p99 within this many times the crowded room's.
const TARGET_RATIO: f64 = 1.5;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    eprintln!("    the crowded room first, for its p99");
    let site = Site::new(ctx, "channel-room", 1)?;
    let server = site.serve(ctx, 4, args.room_players).await?;
    let members = Member::one_room("cr", args.room_players, args.room_speakers);
    let target = server.target(false)?;
    let room = talk(
        ctx,
        &server,
        target,
        members,
        args.room_rate,
        args.room_secs,
    )
    .await;
    server.stop().await?;
    let mut room = room?;
    let room_latency = latency(&mut room.totals);

    eprintln!("    then the channel across two worlds");
    let per_world = (args.channel_rooms / 2).max(1);
    let site = Site::two_worlds(ctx, "channel", per_world)?;
    let server = site.serve(ctx, 4, args.channel_players).await?;
    let members = (0..args.channel_players)
        .map(|i| Member {
            account: name("ch", i),
            login: Login::Create,
            room: (i / 2) % per_world,
            speaker: (i < args.channel_speakers).then_some(i as u32),
            websocket: false,
            world: (i % 2 == 1).then(|| SECOND_WORLD_ID.to_string()),
        })
        .collect();
    let target = server.target(false)?;
    let pace = (args.channel_rate, args.channel_secs);
    let channel = talk_by(ctx, &server, target, members, pace, Speech::Channel("ooc")).await;
    server.stop().await?;
    let mut channel = channel?;
    let channel_latency = latency(&mut channel.totals);

    let ratio = channel_latency.p99_ms / room_latency.p99_ms.max(1e-3);
    let t = &channel.totals;
    let mut figures = vec![
        Figure::target(
            "lines lost",
            format!("{} of {}", t.lost, t.expected),
            "0",
            t.lost == 0 && t.expected > 0,
        ),
        Figure::info("channel: latency p50 / p99 / max", channel_latency.brief()),
        Figure::info(
            "crowded room: latency p50 / p99 / max",
            room_latency.brief(),
        ),
        Figure::comparison(
            "channel p99 / room p99",
            format!("{ratio:.2}"),
            "within 1.5",
            ratio <= TARGET_RATIO,
        ),
        Figure::info(
            "crowded room: lines lost",
            format!("{} of {}", room.totals.lost, room.totals.expected),
        ),
    ];
    figures.extend(channel.common_figures());
    let mut json = channel.json(channel_latency);
    json["worlds"] = json!(2);
    json["rooms"] = json!(per_world * 2);
    json["room_p99_ms"] = json!(room_latency.p99_ms);
    json["p99_ratio_to_room"] = json!(round3(ratio));
    json["target_ratio"] = json!(TARGET_RATIO);
    json["room"] = room.json(room_latency);
    Ok(Outcome { json, figures })
}
