//! A crowd of simulated players: the engine every server scenario runs on.
//!
//! Each member is one tokio task with one connection. It logs in (creating its
//! account, or connecting to one made earlier), enters the game, walks to its room,
//! and reports ready; from then on it keeps reading, so the server never sees a
//! client that stopped reading. Speakers also `say` a line every `period` while the
//! crowd is in [`Phase::Run`] — at most 10 a second, well under the server's limit of
//! 20 commands a second per connection.
//!
//! A spoken line is `m <speaker> <seq> <sent_us>`, said in the room (`say`) or
//! on a server-wide channel (`ooc m ...`), as the crowd's [`Speech`] says.
//! Every listener in the room (on a channel: every member, in every world)
//! counts, per speaker, the lines it got, notes gaps in the sequence, and takes
//! a latency sample from the embedded send time. [`tally`] turns the members'
//! results into losses (lines a speaker sent that a listener who should have
//! heard it never got), duplicates and the samples.
//!
//! A member may play in another world than the default one: it makes a new
//! character there from the menu (`world <id>`, `new <name>`) before walking
//! to its room.
//!
//! Logins are done with bounded concurrency (a semaphore) so the accept backlog
//! never overflows and the server's login work stays the same shape at any size.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::client::{Client, Event, Target};
use crate::stats::{Sample, now_us};
use crate::world::exit_to;

/// How a member gets into its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// `create <account> <password>` (a new account and its first character).
    Create,
    /// `connect <account> <password>`, then `go hub` before walking to the
    /// room, since the character stands wherever it was left last time.
    Reconnect,
}

/// One simulated player.
#[derive(Debug, Clone)]
pub struct Member {
    pub account: String,
    pub login: Login,
    /// The room to walk to (`go r<k>` from the hub).
    pub room: usize,
    /// A speaker's id; `None` for a member that only listens.
    pub speaker: Option<u32>,
    /// Connects to the web listener over WebSocket instead of telnet.
    pub websocket: bool,
    /// Plays a new character in this world instead of its first character
    /// in the default world (`Login::Create` only).
    pub world: Option<String>,
}

/// A member's room meaning the hub itself, where new characters start (they
/// walk nowhere).
pub const HUB: usize = usize::MAX;

impl Member {
    /// A crowded room: `players` new accounts (`<prefix>` names) in room 0 of
    /// the default world over plain telnet, the first `speakers` speaking.
    pub fn one_room(prefix: &str, players: usize, speakers: usize) -> Vec<Member> {
        (0..players)
            .map(|i| Member {
                account: crate::client::name(prefix, i),
                login: Login::Create,
                room: 0,
                speaker: (i < speakers).then_some(i as u32),
                websocket: false,
                world: None,
            })
            .collect()
    }
}

/// How speakers speak, and so who hears them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speech {
    /// `say`: the speaker's room hears it.
    Say,
    /// On a server-wide channel (`ooc`): every member hears it, in every world.
    Channel(&'static str),
}

impl Speech {
    /// The line a speaker types for `body` (`m <id> <seq> <sent_us>`).
    fn line(self, body: &str) -> String {
        match self {
            Speech::Say => format!("say {body}"),
            Speech::Channel(name) => format!("{name} {body}"),
        }
    }

    /// The body of a benchmark line as a listener receives it, if `line` is
    /// one: `<Name> says, "m ..."`, or `[ooc] <Name>[@<world>]: m ...`.
    fn body(self, line: &[u8]) -> Option<&[u8]> {
        match self {
            Speech::Say => {
                const MARK: &[u8] = b"says, \"m ";
                let at = line.windows(MARK.len()).position(|w| w == MARK)?;
                let rest = &line[at + MARK.len()..];
                Some(rest.strip_suffix(b"\"").unwrap_or(rest))
            }
            Speech::Channel(name) => {
                let rest = line.strip_prefix(b"[")?.strip_prefix(name.as_bytes())?;
                let rest = rest.strip_prefix(b"] ")?;
                const MARK: &[u8] = b": m ";
                let at = rest.windows(MARK.len()).position(|w| w == MARK)?;
                Some(&rest[at + MARK.len()..])
            }
        }
    }

    /// Whether every member hears every speaker, not only its room.
    pub fn everywhere(self) -> bool {
        matches!(self, Speech::Channel(_))
    }
}

/// What the crowd is doing; members watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Setup,
    /// Speakers talk.
    Run,
    /// Speakers are quiet; the last lines are still arriving.
    Drain,
    /// Members return their results and hang up.
    Stop,
}

/// What one member saw.
#[derive(Debug, Default)]
pub struct MemberResult {
    pub room: usize,
    pub speaker: Option<u32>,
    /// Lines this member said.
    pub sent: u32,
    /// Lines received, per speaker.
    pub received: HashMap<u32, u32>,
    /// Lines that arrived with a sequence number other than the next expected.
    pub out_of_order: u32,
    pub samples: Vec<Sample>,
    /// `Slow down.` answers: the rate limit was hit (it should never be).
    pub slow_downs: u32,
    /// The server closed the connection before the end.
    pub closed_early: bool,
    /// MCCP2 bytes read and what they inflated to, over the connection.
    pub compression: (u64, u64),
    /// The member listened over WebSocket.
    pub websocket: bool,
}

/// A crowd that has logged in and is waiting for [`Crowd::run`].
pub struct Crowd {
    phase: watch::Sender<Phase>,
    tasks: Vec<JoinHandle<MemberResult>>,
    /// Chat lines received by anyone so far.
    pub delivered: Arc<AtomicU64>,
    /// Seconds the logins took.
    pub setup_secs: f64,
}

impl Crowd {
    /// Starts every member and waits until all are in their rooms. The first
    /// member that fails to get there fails the whole crowd.
    pub async fn assemble(
        target: impl Into<Target>,
        members: Vec<Member>,
        concurrency: usize,
        period: Duration,
    ) -> anyhow::Result<Crowd> {
        Crowd::assemble_speaking(target, members, concurrency, period, Speech::Say).await
    }

    /// [`Crowd::assemble`], the speakers speaking by `speech`.
    pub async fn assemble_speaking(
        target: impl Into<Target>,
        members: Vec<Member>,
        concurrency: usize,
        period: Duration,
        speech: Speech,
    ) -> anyhow::Result<Crowd> {
        let started = Instant::now();
        let target = target.into();
        // On an MCCP2 target every member's connection must come compressed.
        let mccp = target.mccp;
        let total = members.len();
        let (phase, phase_rx) = watch::channel(Phase::Setup);
        let (ready_tx, mut ready_rx) = mpsc::channel(1024);
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let delivered = Arc::new(AtomicU64::new(0));
        let tasks = members
            .into_iter()
            .map(|member| {
                let ctx = MemberCtx {
                    target: target.clone(),
                    permits: permits.clone(),
                    ready: ready_tx.clone(),
                    phase: phase_rx.clone(),
                    period,
                    delivered: delivered.clone(),
                    mccp,
                    speech,
                };
                tokio::spawn(play(member, ctx))
            })
            .collect();
        drop(ready_tx);
        let mut crowd = Crowd {
            phase,
            tasks,
            delivered,
            setup_secs: 0.0,
        };
        let mut ready = 0;
        let mut last_report = Instant::now();
        while ready < total {
            match ready_rx.recv().await {
                Some(Ok(())) => ready += 1,
                Some(Err(err)) => {
                    crowd.abort();
                    return Err(err.context(format!("after {ready} of {total} logged in")));
                }
                None => {
                    crowd.abort();
                    anyhow::bail!("members ended before logging in ({ready} of {total})");
                }
            }
            if last_report.elapsed() > Duration::from_secs(10) {
                eprintln!("    {ready}/{total} logged in");
                last_report = Instant::now();
            }
        }
        crowd.setup_secs = started.elapsed().as_secs_f64();
        Ok(crowd)
    }

    /// Speakers start talking.
    pub fn run(&self) {
        self.phase.send_replace(Phase::Run);
    }

    /// Speakers stop; waits until no line has arrived for half a second (at most
    /// `limit`), so lines still in flight are counted as delivered, not lost.
    pub async fn drain(&self, limit: Duration) {
        self.phase.send_replace(Phase::Drain);
        let deadline = Instant::now() + limit;
        let mut last = self.delivered.load(Ordering::Relaxed);
        let mut quiet_since = Instant::now();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.delivered.load(Ordering::Relaxed);
            if now != last {
                last = now;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= Duration::from_millis(500) {
                return;
            }
        }
    }

    /// Members hang up and hand in what they saw.
    pub async fn finish(self) -> anyhow::Result<Vec<MemberResult>> {
        self.phase.send_replace(Phase::Stop);
        let mut results = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            results.push(task.await.context("a member task panicked")?);
        }
        Ok(results)
    }

    fn abort(&self) {
        self.phase.send_replace(Phase::Stop);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What every member task shares.
struct MemberCtx {
    target: Target,
    permits: Arc<Semaphore>,
    ready: mpsc::Sender<anyhow::Result<()>>,
    phase: watch::Receiver<Phase>,
    period: Duration,
    delivered: Arc<AtomicU64>,
    mccp: bool,
    speech: Speech,
}

async fn play(member: Member, ctx: MemberCtx) -> MemberResult {
    let mut result = MemberResult {
        room: member.room,
        speaker: member.speaker,
        websocket: member.websocket,
        ..MemberResult::default()
    };
    let mut client = match arrive(&member, &ctx).await {
        Ok(client) => {
            let _ = ctx.ready.send(Ok(())).await;
            client
        }
        Err(err) => {
            let err = err.context(format!("member {}", member.account));
            let _ = ctx.ready.send(Err(err)).await;
            result.closed_early = true;
            return result;
        }
    };
    talk_and_listen(&mut client, &member, ctx, &mut result).await;
    if let Some(compression) = client.reader.inflated() {
        result.compression = compression;
    }
    result
}

/// Logs in, enters the game and walks to the member's room.
async fn arrive(member: &Member, ctx: &MemberCtx) -> anyhow::Result<Client> {
    let _permit = ctx.permits.acquire().await?;
    let mut client = match ctx.target.web.filter(|_| member.websocket) {
        Some(web) => Client::connect_websocket(web).await?,
        None if member.websocket => anyhow::bail!("the server has no web listener"),
        None => Client::connect(ctx.target.clone()).await?,
    };
    match member.login {
        Login::Create => client.create_account(&member.account).await?,
        Login::Reconnect => client.log_in(&member.account).await?,
    }
    match &member.world {
        Some(world) => client.play_new_in(world, &member.account).await?,
        None => client.enter_game().await?,
    }
    if member.login == Login::Reconnect {
        // Back to the hub first; from the hub itself this is only refused.
        client.command("go hub", &["> "]).await?;
    }
    if member.room != HUB {
        client.go(&exit_to(member.room)).await?;
    }
    anyhow::ensure!(
        client.reader.compressed() == ctx.mccp,
        "MCCP2 is {} though the member asked otherwise",
        if ctx.mccp { "off" } else { "on" }
    );
    Ok(client)
}

/// The member's life after arriving: read everything, speak on schedule.
async fn talk_and_listen(
    client: &mut Client,
    member: &Member,
    mut ctx: MemberCtx,
    result: &mut MemberResult,
) {
    let mut next_seq: HashMap<u32, u32> = HashMap::new();
    let mut ticker: Option<Interval> = None;
    loop {
        while let Some(event) = client.reader.next_event() {
            if let Event::Line(line) = event {
                record(line, ctx.speech, result, &mut next_seq, &ctx.delivered);
            }
        }
        let phase = *ctx.phase.borrow_and_update();
        match (phase, member.speaker, ticker.is_some()) {
            (Phase::Stop, _, _) => return,
            (Phase::Run, Some(id), false) => ticker = Some(speaker_ticker(id, ctx.period)),
            (Phase::Setup | Phase::Drain, _, true) => ticker = None,
            _ => {}
        }
        tokio::select! {
            changed = ctx.phase.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            read = client.reader.fill() => {
                if !matches!(read, Ok(true)) {
                    result.closed_early = true;
                    return;
                }
            }
            _ = next_tick(&mut ticker) => {
                let id = member.speaker.unwrap_or(0);
                let line = ctx.speech.line(&format!("m {id} {} {}", result.sent, now_us()));
                if client.send(&line).await.is_err() {
                    result.closed_early = true;
                    return;
                }
                result.sent += 1;
            }
        }
    }
}

/// Speakers are spread evenly over the period so the room hears a steady stream
/// rather than ten lines at once.
fn speaker_ticker(id: u32, period: Duration) -> Interval {
    let offset = period.mul_f64((f64::from(id) * 0.618_034).fract());
    let mut ticker = tokio::time::interval_at(Instant::now() + offset, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker
}

async fn next_tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Notes a received line if it is a benchmark line (`... says, "m id seq t"`,
/// or `[ooc] ...: m id seq t`); a speaker's own line on a channel is not one
/// it listens for.
fn record(
    line: &[u8],
    speech: Speech,
    result: &mut MemberResult,
    next_seq: &mut HashMap<u32, u32>,
    delivered: &AtomicU64,
) {
    let Some(rest) = speech.body(line) else {
        if line == b"Slow down." {
            result.slow_downs += 1;
        }
        return;
    };
    let now = now_us();
    let mut fields = rest.split(|&b| b == b' ').map(|f| {
        std::str::from_utf8(f)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
    });
    let (Some(Some(id)), Some(Some(seq)), Some(Some(sent_us))) =
        (fields.next(), fields.next(), fields.next())
    else {
        return;
    };
    let (id, seq) = (id as u32, seq as u32);
    if result.speaker == Some(id) {
        return;
    }
    *result.received.entry(id).or_insert(0) += 1;
    let expected = next_seq.entry(id).or_insert(0);
    if seq != *expected {
        result.out_of_order += 1;
    }
    *expected = seq + 1;
    result.samples.push(Sample {
        sent_us,
        latency_us: now.saturating_sub(sent_us).min(u64::from(u32::MAX)) as u32,
    });
    delivered.fetch_add(1, Ordering::Relaxed);
}

/// Everything the crowd saw, added up.
#[derive(Debug, Default)]
pub struct Totals {
    pub members: usize,
    pub speakers: usize,
    pub sent: u64,
    /// Lines that should have arrived: each line times the others in its room.
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub slow_downs: u64,
    pub closed_early: usize,
    pub samples: Vec<Sample>,
    /// MCCP2 bytes on the wire and inflated, over every member.
    pub compressed: u64,
    pub inflated: u64,
    /// The latencies (µs) of the members listening over plain telnet and
    /// over WebSocket, apart, for a room that has both.
    pub by_transport: [Vec<u32>; 2],
}

/// Adds up the members' results: every speaker's line should reach every other
/// member of its room exactly once.
pub fn tally(results: Vec<MemberResult>) -> Totals {
    tally_heard(results, Speech::Say)
}

/// [`tally`], for lines that reach whom `speech` reaches: the speaker's room,
/// or every member.
pub fn tally_heard(results: Vec<MemberResult>, speech: Speech) -> Totals {
    let mut sent_by: HashMap<u32, (usize, u32)> = HashMap::new();
    for r in &results {
        if let Some(id) = r.speaker {
            sent_by.insert(id, (r.room, r.sent));
        }
    }
    let mut totals = Totals {
        members: results.len(),
        speakers: sent_by.len(),
        sent: sent_by.values().map(|&(_, n)| u64::from(n)).sum(),
        ..Totals::default()
    };
    for mut r in results {
        for (&id, &(room, sent)) in &sent_by {
            if (room != r.room && !speech.everywhere()) || Some(id) == r.speaker {
                continue;
            }
            let got = r.received.get(&id).copied().unwrap_or(0);
            totals.expected += u64::from(sent);
            totals.delivered += u64::from(got);
            totals.lost += u64::from(sent.saturating_sub(got));
            totals.duplicates += u64::from(got.saturating_sub(sent));
        }
        totals.out_of_order += u64::from(r.out_of_order);
        totals.slow_downs += u64::from(r.slow_downs);
        totals.closed_early += usize::from(r.closed_early);
        totals.by_transport[usize::from(r.websocket)]
            .extend(r.samples.iter().map(|s| s.latency_us));
        totals.samples.append(&mut r.samples);
        totals.compressed += r.compression.0;
        totals.inflated += r.compression.1;
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_benchmark_line_is_counted_and_timed() {
        let mut result = MemberResult::default();
        let mut next = HashMap::new();
        let delivered = AtomicU64::new(0);
        let say = Speech::Say;
        record(
            b"Zqaaab says, \"m 3 0 5\"",
            say,
            &mut result,
            &mut next,
            &delivered,
        );
        record(
            b"Zqaaab says, \"m 3 2 6\"",
            say,
            &mut result,
            &mut next,
            &delivered,
        );
        record(b"Someone arrives.", say, &mut result, &mut next, &delivered);
        record(b"Slow down.", say, &mut result, &mut next, &delivered);
        assert_eq!(result.received[&3], 2);
        assert_eq!(result.out_of_order, 1);
        assert_eq!(result.samples.len(), 2);
        assert_eq!(result.slow_downs, 1);
        assert_eq!(delivered.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_channel_line_is_counted_from_any_world_but_the_speakers_own_is_not() {
        let ooc = Speech::Channel("ooc");
        let mut result = MemberResult {
            speaker: Some(1),
            ..MemberResult::default()
        };
        let mut next = HashMap::new();
        let delivered = AtomicU64::new(0);
        for line in [
            &b"[ooc] Zqaaab: m 3 0 5"[..],
            b"[ooc] Zqaaac@benchworld2: m 4 0 6",
            b"[ooc] Zqaaad: m 1 0 7",
            b"[newbie] Zqaaab: m 3 1 8",
            b"Zqaaab says, \"m 3 1 9\"",
        ] {
            record(line, ooc, &mut result, &mut next, &delivered);
        }
        assert_eq!(result.received.get(&3), Some(&1));
        assert_eq!(result.received.get(&4), Some(&1));
        assert_eq!(result.received.get(&1), None, "its own line");
        assert_eq!(delivered.load(Ordering::Relaxed), 2);
        assert_eq!(ooc.line("m 1 2 3"), "ooc m 1 2 3");
    }

    #[test]
    fn on_a_channel_every_other_member_should_hear_every_line() {
        let speaker = MemberResult {
            room: 1,
            speaker: Some(0),
            sent: 10,
            ..MemberResult::default()
        };
        let elsewhere = MemberResult {
            room: 2,
            received: HashMap::from([(0, 10)]),
            ..MemberResult::default()
        };
        let totals = tally_heard(vec![speaker, elsewhere], Speech::Channel("ooc"));
        assert_eq!(
            (totals.expected, totals.delivered, totals.lost),
            (10, 10, 0)
        );
    }

    #[test]
    fn losses_are_counted_per_listener_and_speaker() {
        let speaker = MemberResult {
            room: 1,
            speaker: Some(0),
            sent: 10,
            ..MemberResult::default()
        };
        let heard_all = MemberResult {
            room: 1,
            received: HashMap::from([(0, 10)]),
            ..MemberResult::default()
        };
        let heard_some = MemberResult {
            room: 1,
            received: HashMap::from([(0, 7)]),
            ..MemberResult::default()
        };
        let elsewhere = MemberResult {
            room: 2,
            ..MemberResult::default()
        };
        let totals = tally(vec![speaker, heard_all, heard_some, elsewhere]);
        assert_eq!(totals.expected, 20);
        assert_eq!(totals.delivered, 17);
        assert_eq!(totals.lost, 3);
    }
}
