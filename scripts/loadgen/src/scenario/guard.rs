//! `storm` and `timing`: logins under attack (SPEC §10, §11).
//!
//! `storm`: a real player's login time at the default bcrypt cost, first idle,
//! then while 30 connections from another address guess passwords as fast as
//! the server answers them (each guess a name that does not exist, so no
//! account's own lockout ends the storm). It runs twice: with the server's
//! defaults (the guessing address is shut out after 5 failures and answered
//! without bcrypt), and with that limit off (`GASLAMP_MAX_FAILED_LOGINS_PER_IP=0`),
//! which leaves the fair queue alone: bcrypt work is handed to the addresses in
//! turn, so the player waits behind at most one guess. The guessers connect
//! from 127.0.0.2, the player from 127.0.0.1. Login time is from the TCP
//! connect to the `Character: ` prompt.
//!
//! `timing`: how long a wrong password takes to be answered, side by side, for
//! an account that exists, a name that does not, and an account whose hash was
//! made at a higher cost than the server's — before and after its owner logs
//! in once (the server re-hashes at its own cost then). The account lockout and
//! the limit per address are set out of the way (through the environment, so an
//! older binary that knows neither flag runs the same scenario).
//!
//! Both report figures only; the settings go through `GASLAMP_*` variables, so
//! the scenarios also run against an older binary for a before-and-after.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gaslamp::store::accounts::{AccountChange, Actor};
use gaslamp::store::{Store, StoreOptions};
use serde_json::{Value, json};

use super::Site;
use crate::Ctx;
use crate::client::{Client, PASSWORD};
use crate::report::{Figure, Outcome};
use crate::server::{Launch, ServerProcess};
use crate::stats::Summary;

/// Where the guessing storm comes from; the player comes from 127.0.0.1.
const STORM_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const PLAYER: &str = "lamplighter";
const KNOWN: &str = "knownname";
const OLD_HASH: &str = "oldhashname";
const WRONG: &str = "not-the-password";

/// Starts the server on `site` at `cost` with extra environment.
async fn start(
    ctx: &Ctx,
    site: &Site,
    cost: u32,
    extra: &[(&str, &str)],
) -> anyhow::Result<ServerProcess> {
    let mut env = ctx.args.server_env.clone();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ServerProcess::start(&Launch {
        binary: &ctx.args.server,
        db: &site.db,
        worlds: &site.worlds,
        bcrypt_cost: cost,
        max_connections: 2_000,
        env: &env,
        tls_dir: None,
        web: false,
    })
    .await
}

/// Creates `accounts` over telnet on a cost-4 server, then stops it.
async fn create_accounts(ctx: &Ctx, site: &Site, accounts: &[&str]) -> anyhow::Result<()> {
    let server = start(ctx, site, 4, &[]).await?;
    for account in accounts {
        let mut client = Client::connect(server.addr).await?;
        client.create_account(account).await?;
        let _ = client.send("quit").await;
    }
    server.stop().await
}

/// Gives `account` a hash of the common password made at `cost`, with the
/// server down, through the operator's account change.
async fn set_hash(site: &Site, account: &str, cost: u32) -> anyhow::Result<()> {
    let db = site.db.clone();
    let store = tokio::task::spawn_blocking(move || {
        Store::open(
            &db,
            StoreOptions {
                bcrypt_cost: cost,
                hash_concurrency: 1,
            },
        )
    })
    .await??;
    let hash = store
        .accounts()
        .hash_new_password(PASSWORD)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    store
        .accounts()
        .change(
            Actor::Operator,
            account,
            AccountChange::Password { hash },
            "bench.hash",
        )
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(())
}

/// `n` logins of the player one after another; each one's time in µs.
async fn player_logins(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<u32>> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let begun = Instant::now();
        let mut client = Client::connect(addr).await?;
        client.log_in(PLAYER).await?;
        times.push(micros(begun.elapsed()));
        let _ = client.send("quit").await;
    }
    Ok(times)
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

/// What the guessers did.
#[derive(Default)]
struct StormCounts {
    answered: AtomicU64,
    refused: AtomicU64,
}

/// One guesser: connects from the storm's address and guesses until `stop`,
/// reconnecting whenever the server hangs up (after three failures).
async fn guess(addr: SocketAddr, id: usize, stop: Arc<AtomicBool>, counts: Arc<StormCounts>) {
    let mut guess = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut client) = Client::connect_from(addr, STORM_ADDRESS).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if client.wait_prompt(&["Account: "]).await.is_err() {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            guess += 1;
            let line = format!("connect nobody{id}x{guess} {WRONG}");
            if client.command(&line, &["Account: "]).await.is_err() {
                break;
            }
            counts.answered.fetch_add(1, Ordering::Relaxed);
            if client
                .recent()
                .last()
                .is_some_and(|l| l.contains("Too many failed logins"))
            {
                counts.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

pub async fn storm(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let site = Site::new(ctx, "storm", 1)?;
    create_accounts(ctx, &site, &[PLAYER]).await?;
    set_hash(&site, PLAYER, args.storm_cost).await?;
    let mut json = serde_json::Map::new();
    json.insert("bcrypt_cost".into(), json!(args.storm_cost));
    json.insert("guessers".into(), json!(args.storm_connections));
    let mut figures = Vec::new();
    let variants: [(&str, &[(&str, &str)]); 2] = [
        ("defaults", &[]),
        (
            "limit per address off",
            &[("GASLAMP_MAX_FAILED_LOGINS_PER_IP", "0")],
        ),
    ];
    for (label, env) in variants {
        let server = start(ctx, &site, args.storm_cost, env).await?;
        let mut idle = player_logins(server.addr, args.storm_logins).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(StormCounts::default());
        let guessers: Vec<_> = (0..args.storm_connections)
            .map(|id| tokio::spawn(guess(server.addr, id, stop.clone(), counts.clone())))
            .collect();
        // Let the storm reach full strength: every guesser has been answered once.
        let building = Instant::now();
        while counts.answered.load(Ordering::Relaxed) < args.storm_connections as u64
            && building.elapsed() < Duration::from_secs(120)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let storm_from = counts.answered.load(Ordering::Relaxed);
        let begun = Instant::now();
        let during = player_logins(server.addr, args.storm_logins).await;
        let secs = begun.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for guesser in guessers {
            guesser.abort();
        }
        server.stop().await?;
        let mut during = during?;
        let guesses = counts.answered.load(Ordering::Relaxed) - storm_from;
        let idle = Summary::of(&mut idle);
        let during = Summary::of(&mut during);
        json.insert(
            label.into(),
            json!({
                "login_idle": idle.json(),
                "login_during_storm": during.json(),
                "guesses_answered_meanwhile": guesses,
                "guesses_per_sec": guesses as f64 / secs.max(1e-3),
                "guesses_refused_unchecked": counts.refused.load(Ordering::Relaxed),
            }),
        );
        figures.push(Figure::info(
            &format!("{label}: login idle p50 / max"),
            format!("{:.0} / {:.0} ms", idle.p50_ms, idle.max_ms),
        ));
        figures.push(Figure::info(
            &format!("{label}: login in storm p50 / max"),
            format!(
                "{:.0} / {:.0} ms ({:.0} guesses/s answered)",
                during.p50_ms,
                during.max_ms,
                guesses as f64 / secs.max(1e-3)
            ),
        ));
    }
    Ok(Outcome {
        json: Value::Object(json),
        figures,
    })
}

/// A connection for wrong guesses, made again after two (the third would end it).
struct Prober {
    addr: SocketAddr,
    client: Option<Client>,
    used: usize,
}

impl Prober {
    /// How long one wrong password for `account` takes to be answered, in µs.
    async fn wrong(&mut self, account: &str) -> anyhow::Result<u32> {
        if self.client.is_none() || self.used == 2 {
            let mut client = Client::connect(self.addr).await?;
            client.wait_prompt(&["Account: "]).await?;
            self.client = Some(client);
            self.used = 0;
        }
        let client = self.client.as_mut().expect("connected above");
        let begun = Instant::now();
        client
            .command(&format!("connect {account} {WRONG}"), &["Account: "])
            .await?;
        self.used += 1;
        Ok(micros(begun.elapsed()))
    }
}

pub async fn timing(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let site = Site::new(ctx, "timing", 1)?;
    create_accounts(ctx, &site, &[KNOWN, OLD_HASH]).await?;
    set_hash(&site, OLD_HASH, args.timing_old_cost).await?;
    let env = [
        ("GASLAMP_LOCKOUT_THRESHOLD", "1000000000"),
        ("GASLAMP_MAX_FAILED_LOGINS_PER_IP", "0"),
    ];
    let server = start(ctx, &site, args.timing_cost, &env).await?;
    let mut prober = Prober {
        addr: server.addr,
        client: None,
        used: 0,
    };
    let (mut known, mut unknown, mut old_before) = (Vec::new(), Vec::new(), Vec::new());
    let (mut known_again, mut unknown_again) = (Vec::new(), Vec::new());
    for n in 0..args.timing_attempts {
        known.push(prober.wrong(KNOWN).await?);
        // The same name again at once: it waits for whatever the first attempt
        // left behind (its record) under that name's lock.
        known_again.push(prober.wrong(KNOWN).await?);
        let unknown_name = format!("unknown{n}");
        unknown.push(prober.wrong(&unknown_name).await?);
        unknown_again.push(prober.wrong(&unknown_name).await?);
        old_before.push(prober.wrong(OLD_HASH).await?);
    }
    // The owner logs in once: the hash is made again at the server's cost.
    let mut owner = Client::connect(server.addr).await?;
    owner.log_in(OLD_HASH).await?;
    let _ = owner.send("quit").await;
    let mut old_after = Vec::new();
    for _ in 0..args.timing_attempts {
        old_after.push(prober.wrong(OLD_HASH).await?);
    }
    server.stop().await?;
    let known = Summary::of(&mut known);
    let unknown = Summary::of(&mut unknown);
    let known_again = Summary::of(&mut known_again);
    let unknown_again = Summary::of(&mut unknown_again);
    let old_before = Summary::of(&mut old_before);
    let old_after = Summary::of(&mut old_after);
    let json = json!({
        "bcrypt_cost": args.timing_cost,
        "older_hash_cost": args.timing_old_cost,
        "known_account": known.json(),
        "unknown_name": unknown.json(),
        "known_minus_unknown_p50_ms": known.p50_ms - unknown.p50_ms,
        "known_account_again_at_once": known_again.json(),
        "unknown_name_again_at_once": unknown_again.json(),
        "older_hash_before_owner_login": old_before.json(),
        "older_hash_after_owner_login": old_after.json(),
    });
    let brief = |s: &Summary| format!("{:.2} / {:.2} ms", s.p50_ms, s.p90_ms);
    let figures = vec![
        Figure::info("wrong password, known account p50 / p90", brief(&known)),
        Figure::info("wrong password, unknown name p50 / p90", brief(&unknown)),
        Figure::info(
            "known minus unknown (p50)",
            format!("{:+.2} ms", known.p50_ms - unknown.p50_ms),
        ),
        Figure::info("the same known account again at once", brief(&known_again)),
        Figure::info("the same unknown name again at once", brief(&unknown_again)),
        Figure::info(
            &format!(
                "hash at cost {}, before its owner's login",
                args.timing_old_cost
            ),
            brief(&old_before),
        ),
        Figure::info(
            &format!(
                "hash at cost {}, after its owner's login",
                args.timing_old_cost
            ),
            brief(&old_after),
        ),
    ];
    Ok(Outcome { json, figures })
}
