//! The command line's unit tests: defaults, flags, the config file's layering
//! and its errors, the settings that need each other.

use std::path::Path;

use super::*;

#[test]
fn defaults_match_the_spec() {
    let cli = Cli::try_parse_from(["gaslamp", "run"]).expect("parse");
    let Command::Run(run) = &cli.command else {
        panic!("expected run");
    };
    let config = cli.common.server_config(run);
    assert_eq!(config.bind.to_string(), "127.0.0.1:4000");
    assert_eq!(config.db_path, PathBuf::from("data/gaslamp.db"));
    assert_eq!(config.worlds_dir, PathBuf::from("worlds"));
    assert_eq!(config.bcrypt_cost, 12);
    assert_eq!(config.idle_timeout, Duration::from_secs(3600));
    assert!(config.allow_multiple_sessions);
    assert_eq!(config.failed_logins_per_ip, AddressLimit::FAILED_LOGINS);
    assert_eq!(config.guests_per_ip, AddressLimit::GUESTS);
    assert_eq!(config.signups_per_ip, AddressLimit::SIGNUPS);
}

#[test]
fn the_limits_per_address_come_from_flags_environment_or_file() {
    let (_dir, path) =
        config_file("max_guests_per_ip = 2\nguests-window = \"1h\"\nmax-signups-per-ip = 3\n");
    let cli = parse_with(
        &path,
        &[
            "run",
            "--max-failed-logins-per-ip",
            "0",
            "--failed-logins-window=90s",
            "--signups-window",
            "30m",
        ],
    )
    .expect("parse");
    let config = run_config(&cli);
    assert!(config.failed_logins_per_ip.is_off());
    assert_eq!(config.failed_logins_per_ip.window, Duration::from_secs(90));
    assert_eq!(
        config.guests_per_ip,
        AddressLimit {
            count: 2,
            window: Duration::from_secs(3600)
        }
    );
    assert_eq!(
        config.signups_per_ip,
        AddressLimit {
            count: 3,
            window: Duration::from_secs(1800)
        }
    );
}

#[test]
fn flags_override_defaults_anywhere_on_the_line() {
    let cli = Cli::try_parse_from([
        "gaslamp",
        "--db",
        "/tmp/x.db",
        "run",
        "--bind",
        "0.0.0.0:5000",
        "--bcrypt-cost",
        "4",
        "--idle-timeout",
        "15m",
        "--allow-multiple-sessions",
        "false",
    ])
    .expect("parse");
    let Command::Run(run) = &cli.command else {
        panic!("expected run");
    };
    let config = cli.common.server_config(run);
    assert_eq!(config.db_path, PathBuf::from("/tmp/x.db"));
    assert_eq!(config.bind.port(), 5000);
    assert_eq!(config.bcrypt_cost, 4);
    assert_eq!(config.idle_timeout, Duration::from_secs(900));
    assert!(!config.allow_multiple_sessions);
}

#[test]
fn the_registration_switches_reach_the_config() {
    let config = |args: &[&str]| {
        let cli = Cli::try_parse_from(args).expect("parse");
        let Command::Run(run) = &cli.command else {
            panic!("expected run");
        };
        cli.common.server_config(run)
    };
    let open = config(&["gaslamp", "run"]);
    assert!(open.registration_open && open.guests && open.player_characters);
    let closed = config(&[
        "gaslamp",
        "run",
        "--registration",
        "closed",
        "--guests",
        "off",
        "--player-characters",
        "off",
    ]);
    assert!(!closed.registration_open && !closed.guests && !closed.player_characters);
    assert!(open.multi_world_characters, "on by default");
    let one_world = config(&["gaslamp", "run", "--multi-world-characters", "off"]);
    assert!(!one_world.multi_world_characters);
    assert!(Cli::try_parse_from(["gaslamp", "run", "--guests", "maybe"]).is_err());
    assert!(Cli::try_parse_from(["gaslamp", "run", "--idle-timeout", "0"]).is_err());
    let long = config(&["gaslamp", "run", "--idle-timeout", "1h30m"]);
    assert_eq!(long.idle_timeout, Duration::from_secs(5400));
}

#[test]
fn a_bcrypt_cost_out_of_range_is_refused() {
    assert!(Cli::try_parse_from(["gaslamp", "run", "--bcrypt-cost", "3"]).is_err());
}

/// A config file in a temporary directory (kept alive by the returned guard).
fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gaslamp.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

fn parse_with(path: &Path, rest: &[&str]) -> Result<Cli, CliError> {
    let mut args = vec![
        "gaslamp".into(),
        "--config".into(),
        path.as_os_str().to_owned(),
    ];
    args.extend(rest.iter().map(OsString::from));
    parse_from(args)
}

fn run_config(cli: &Cli) -> ServerConfig {
    let Command::Run(run) = &cli.command else {
        panic!("expected run");
    };
    cli.common.server_config(run)
}

const FILE: &str = r#"
    bind = "0.0.0.0:4100"
    idle-timeout = "30m"
    bcrypt_cost = 10
    db = "from-file.db"
    allow-multiple-sessions = false
    max_connections = 77
"#;

#[test]
fn config_file_values_fill_what_no_flag_set() {
    let (_dir, path) = config_file(FILE);
    let config = run_config(&parse_with(&path, &["run"]).expect("parse"));
    assert_eq!(config.bind.to_string(), "0.0.0.0:4100");
    assert_eq!(config.idle_timeout, Duration::from_secs(1800));
    assert_eq!(config.bcrypt_cost, 10);
    assert_eq!(config.db_path, PathBuf::from("from-file.db"));
    assert!(!config.allow_multiple_sessions);
    assert_eq!(config.max_connections, 77);
    // Untouched by the file: the built-in default.
    assert_eq!(config.max_connections_per_ip, 50);
}

#[test]
fn flags_win_over_the_config_file_wherever_they_stand() {
    let (_dir, path) = config_file(FILE);
    let cli = parse_with(
        &path,
        &[
            "--bcrypt-cost",
            "5",
            "run",
            "--bind",
            "127.0.0.1:5000",
            "--db=flag.db",
        ],
    )
    .expect("parse");
    let config = run_config(&cli);
    assert_eq!(config.bind.to_string(), "127.0.0.1:5000");
    assert_eq!(config.bcrypt_cost, 5);
    assert_eq!(config.db_path, PathBuf::from("flag.db"));
    assert_eq!(config.idle_timeout, Duration::from_secs(1800));
}

#[test]
fn run_settings_in_the_file_do_not_trouble_other_subcommands() {
    let (_dir, path) = config_file(FILE);
    let cli = parse_with(&path, &["user", "ban", "bob", "spamming", "--loudly"]).expect("parse");
    assert_eq!(cli.common.db, PathBuf::from("from-file.db"));
    let Command::User {
        command: UserCommand::Ban { account, reason },
    } = &cli.command
    else {
        panic!("expected user ban");
    };
    assert_eq!(account, "bob");
    assert_eq!(reason, &["spamming", "--loudly"]);
}

fn config_error(text: &str, rest: &[&str]) -> String {
    let (_dir, path) = config_file(text);
    let err = parse_with(&path, rest).expect_err("refused");
    let message = err.to_string();
    assert!(matches!(err, CliError::Config { .. }), "{message}");
    assert!(message.contains("gaslamp.toml"), "no file name: {message}");
    message
}

#[test]
fn mssp_settings_come_from_flags_or_an_mssp_table() {
    let (_dir, path) = config_file(
        "[mssp]\nname = \"Gaslight\"\ncontact = \"ops@example.org\"\ncrawl_delay = 12\n",
    );
    let config = run_config(
        &parse_with(
            &path,
            &["run", "--mssp-contact", "flag@example.org", "--no-mccp"],
        )
        .expect("parse"),
    );
    assert_eq!(config.mssp.name.as_deref(), Some("Gaslight"));
    assert_eq!(config.mssp.contact.as_deref(), Some("flag@example.org"));
    assert_eq!(config.mssp.crawl_delay, 12);
    assert_eq!(config.mssp.genre, "Fantasy");
    assert!(!config.mccp);
    let defaults = run_config(&parse_from(["gaslamp", "run"]).expect("parse"));
    assert!(defaults.mccp);
    assert_eq!(defaults.mssp, MsspConfig::defaults());
    let message = config_error("[mssp]\ncolour = \"red\"\n", &["run"]);
    assert!(message.contains("mssp-colour"), "{message}");
}

#[test]
fn the_listing_fields_and_one_world_accounts_come_from_the_config_file() {
    let (_dir, path) = config_file(
        "multi-world-characters = \"off\"\n[mssp]\ndiscord = \"https://discord.gg/lamps\"\n\
         gameplay = \"Roleplaying\"\nicon = \"https://mud.example.org/icon.png\"\n\
         website = \"https://mud.example.org\"\nlocation = \"Ireland\"\ncreated = \"2026\"\n",
    );
    let config =
        run_config(&parse_with(&path, &["run", "--mssp-gameplay", "Social"]).expect("parse"));
    assert!(!config.multi_world_characters);
    assert_eq!(
        config.mssp.discord.as_deref(),
        Some("https://discord.gg/lamps")
    );
    assert_eq!(
        config.mssp.gameplay.as_deref(),
        Some("Social"),
        "the flag wins"
    );
    assert_eq!(
        config.mssp.icon.as_deref(),
        Some("https://mud.example.org/icon.png")
    );
    assert_eq!(
        config.mssp.website.as_deref(),
        Some("https://mud.example.org")
    );
    assert_eq!(config.mssp.location.as_deref(), Some("Ireland"));
    assert_eq!(config.mssp.created.as_deref(), Some("2026"));
}

#[test]
fn unknown_keys_are_named_with_the_file() {
    let message = config_error("bind = \"0.0.0.0:1\"\ncolour = \"blue\"\n", &["run"]);
    assert!(message.contains("unknown key \"colour\""), "{message}");
    // A key unknown anywhere is refused even where no setting applies.
    let message = config_error("[server]\nbind = \"0.0.0.0:1\"\n", &["init-db"]);
    assert!(message.contains("unknown key \"server\""), "{message}");
    let message = config_error("config = \"other.toml\"\n", &["init-db"]);
    assert!(message.contains("unknown key \"config\""), "{message}");
}

#[test]
fn bad_values_in_the_file_are_named_with_the_file() {
    let message = config_error("idle-timeout = \"soon\"\n", &["run"]);
    assert!(message.contains("--idle-timeout"), "{message}");
    let message = config_error("bcrypt-cost = 99\n", &["init-db"]);
    assert!(message.contains("--bcrypt-cost"), "{message}");
    let message = config_error("bind = [1, 2]\n", &["run"]);
    assert!(message.contains("\"bind\" must be a string"), "{message}");
    let message = config_error("bind = \"a\"\nbind_x = 1 = 2\n", &["run"]);
    assert!(message.contains("line 2"), "{message}");
    let message = config_error("db = \"a\"\n\"db\" = \"b\"\n", &["run"]);
    assert!(message.contains("duplicate key"), "{message}");
    let message = config_error("idle_timeout = \"1m\"\nidle-timeout = \"2m\"\n", &["run"]);
    assert!(message.contains("given twice"), "{message}");
}

#[test]
fn channel_tables_in_the_file_change_and_add_channels() {
    let (_dir, path) = config_file(
        "bind = \"127.0.0.1:4100\"\n\
         [[channel]]\nname = \"ooc\"\nguests = true\n\
         [[channel]]\nname = \"trade\"\ndescription = \"Buying and selling.\"\nwrite = \"worldbuilder\"\n",
    );
    let config = run_config(&parse_with(&path, &["run"]).expect("parse"));
    let names: Vec<&str> = config.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ooc", "newbie", "builder", "admin", "trade"]);
    assert!(config.channels[0].guests);
    assert_eq!(config.channels[4].write, gaslamp_role("worldbuilder"));
    let defaults = run_config(&parse_from(["gaslamp", "run"]).expect("parse"));
    assert_eq!(defaults.channels, crate::config::ChannelConfig::defaults());
    // The other subcommands read the file too, and take no channels from it.
    assert!(parse_with(&path, &["init-db"]).is_ok());
}

fn gaslamp_role(name: &str) -> crate::auth::Role {
    name.parse().expect("a role")
}

#[test]
fn bad_channel_tables_are_named_with_the_file() {
    let message = config_error("channel = \"ooc\"\n", &["run"]);
    assert!(message.contains("[[channel]]"), "{message}");
    let message = config_error("[[channel]]\nname = \"ooc\"\ncolour = 1\n", &["run"]);
    assert!(message.contains("unknown key \"colour\""), "{message}");
    let message = config_error("[[channel]]\ndescription = \"x\"\n", &["run"]);
    assert!(message.contains("needs a \"name\""), "{message}");
    let message = config_error("[[channel]]\nname = \"ooc\"\nread = \"wizard\"\n", &["run"]);
    assert!(message.contains("must be a role"), "{message}");
    let message = config_error("[[channel]]\nname = \"o o c\"\n", &["run"]);
    assert!(message.contains("must be 2 to 20"), "{message}");
}

#[test]
fn a_missing_config_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = parse_with(&dir.path().join("absent.toml"), &["init-db"]).expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("absent.toml") && message.contains("cannot read"),
        "{message}"
    );
}

#[test]
fn tls_flags_make_a_tls_listener_and_need_each_other() {
    let config = run_config(
        &parse_from([
            "gaslamp",
            "run",
            "--tls-bind",
            "0.0.0.0:4443",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-only",
        ])
        .expect("parse"),
    );
    let tls = config.tls.as_ref().expect("tls");
    assert_eq!(tls.bind.to_string(), "0.0.0.0:4443");
    assert_eq!(tls.cert, PathBuf::from("c.pem"));
    assert_eq!(tls.key, PathBuf::from("k.pem"));
    assert_eq!(tls.handshake_timeout, Duration::from_secs(10));
    assert!(!config.plain);
    assert_eq!(config.tls_port(), Some(4443));
    assert_eq!(config.plain_port(), None);

    let plain = run_config(&parse_from(["gaslamp", "run"]).expect("parse"));
    assert!(plain.plain && plain.tls.is_none());
    assert_eq!(plain.tls_port(), None);
    assert_eq!(plain.plain_port(), Some(4000));

    for refused in [
        &["run", "--tls-bind", "0.0.0.0:4443"][..],
        &["run", "--tls-bind", "0.0.0.0:4443", "--tls-cert", "c.pem"],
        &["run", "--tls-cert", "c.pem", "--tls-key", "k.pem"],
        &["run", "--tls-only"],
    ] {
        let args = std::iter::once("gaslamp").chain(refused.iter().copied());
        assert!(parse_from(args).is_err(), "{refused:?} was accepted");
    }
    // An explicit "false" needs no TLS listener.
    assert!(parse_from(["gaslamp", "run", "--tls-only=false"]).is_ok());
}

#[test]
fn tls_settings_come_from_the_config_file_too() {
    let (_dir, path) = config_file(
        r#"
        tls-bind = "127.0.0.1:4443"
        tls_cert = "file.crt"
        tls-key = "file.key"
        tls-only = true
        tls-handshake-timeout = "3s"
    "#,
    );
    let config = run_config(&parse_with(&path, &["run"]).expect("parse"));
    let tls = config.tls.as_ref().expect("tls");
    assert_eq!(tls.cert, PathBuf::from("file.crt"));
    assert_eq!(tls.handshake_timeout, Duration::from_secs(3));
    assert!(!config.plain);
    // A flag still wins over the file.
    let config = run_config(
        &parse_with(
            &path,
            &["run", "--tls-only=false", "--tls-cert", "flag.crt"],
        )
        .expect("parse"),
    );
    assert!(config.plain);
    assert_eq!(config.tls.expect("tls").cert, PathBuf::from("flag.crt"));
}

#[test]
fn the_web_listener_defaults_to_loopback_4080_and_turns_off() {
    let config = run_config(&parse_from(["gaslamp", "run"]).expect("parse"));
    let web = config.web.as_ref().expect("web listener");
    assert_eq!(web.bind.to_string(), "127.0.0.1:4080");
    assert!(web.origins.is_empty() && !web.trust_proxy);
    assert_eq!(web.max_per_ip, 32);
    assert_eq!(config.web_port(), Some(4080));

    let off = run_config(&parse_from(["gaslamp", "run", "--web-bind", "off"]).expect("parse"));
    assert!(off.web.is_none());
    assert_eq!(off.web_port(), None);

    let config = run_config(
        &parse_from([
            "gaslamp",
            "run",
            "--web-bind",
            "0.0.0.0:8080",
            "--web-origin",
            "https://Mud.Example.org/, http://localhost:8080",
            "--trust-proxy",
            "--web-max-per-ip",
            "500",
        ])
        .expect("parse"),
    );
    let web = config.web.expect("web listener");
    assert!(web.hosts.is_empty());
    assert_eq!(web.bind.to_string(), "0.0.0.0:8080");
    assert_eq!(web.max_per_ip, 500);
    assert_eq!(
        web.origins,
        ["https://mud.example.org", "http://localhost:8080"]
    );
    assert!(web.trust_proxy);

    for refused in [
        &["run", "--web-bind", "nowhere"][..],
        &["run", "--web-origin", "mud.example.org"],
        &["run", "--web-origin", "ftp://mud.example.org"],
        &["run", "--web-origin", "https://mud.example.org/play"],
        &["run", "--web-bind", "off", "--trust-proxy"],
        &["run", "--web-bind", "off", "--web-origin", "*"],
        &["run", "--web-bind", "off", "--web-max-per-ip", "64"],
        &["run", "--web-max-per-ip", "0"],
        &["run", "--web-bind", "off", "--web-host", "mud.example.org"],
        &["run", "--web-host", "https://mud.example.org"],
        &["run", "--web-host", "mud.example.org:443"],
        &["run", "--web-host", "mud.example.org/play"],
    ] {
        let args = std::iter::once("gaslamp").chain(refused.iter().copied());
        assert!(parse_from(args).is_err(), "{refused:?} was accepted");
    }
}

#[test]
fn web_hosts_are_repeated_or_comma_separated_and_lowercased() {
    let config = run_config(
        &parse_from([
            "gaslamp",
            "run",
            "--web-host",
            "Mud.Example.org, play.example.org.",
            "--web-host=10.0.0.7",
        ])
        .expect("parse"),
    );
    let web = config.web.expect("web listener");
    assert_eq!(
        web.hosts,
        ["mud.example.org", "play.example.org", "10.0.0.7"]
    );
}

#[test]
fn web_settings_come_from_the_config_file_too() {
    let (_dir, path) = config_file(
        r#"
        web-bind = "127.0.0.1:4999"
        web_origin = "https://mud.example.org"
        trust-proxy = true
        web_max_per_ip = 7
        web-host = ["mud.example.org", "Play.example.org"]
    "#,
    );
    let web = run_config(&parse_with(&path, &["run"]).expect("parse"))
        .web
        .expect("web listener");
    assert_eq!(web.hosts, ["mud.example.org", "play.example.org"]);
    assert_eq!(web.bind.to_string(), "127.0.0.1:4999");
    assert_eq!(web.max_per_ip, 7);
    assert_eq!(web.origins, ["https://mud.example.org"]);
    assert!(web.trust_proxy);
    let (_dir, path) = config_file("web_host = \"mud.example.org,play.example.org\"\n");
    let web = run_config(&parse_with(&path, &["run"]).expect("parse"))
        .web
        .expect("web listener");
    assert_eq!(web.hosts, ["mud.example.org", "play.example.org"]);
    let (_dir, path) = config_file("web-host = [\"mud.example.org\", 443]\n");
    let refused = parse_with(&path, &["run"]).expect_err("a number is no host name");
    assert!(refused.to_string().contains("web-host"), "{refused}");
    let (_dir, path) = config_file("web-bind = \"off\"\n");
    let config = run_config(&parse_with(&path, &["run"]).expect("parse"));
    assert!(config.web.is_none());
}

#[test]
fn gen_cert_takes_hosts_and_a_directory() {
    let cli = parse_from([
        "gaslamp",
        "gen-cert",
        "--host",
        "mud.example",
        "--host",
        "10.0.0.7",
        "--out",
        "certs",
    ])
    .expect("parse");
    let Command::GenCert(args) = &cli.command else {
        panic!("expected gen-cert");
    };
    assert_eq!(args.hosts, ["mud.example", "10.0.0.7"]);
    assert_eq!(args.out, PathBuf::from("certs"));
    assert!(!args.force);
}

#[test]
fn user_subcommands_parse() {
    let cli = parse_from(["gaslamp", "user", "role", "bob", "admin"]).expect("parse");
    assert!(matches!(
        &cli.command,
        Command::User { command: UserCommand::Role { account, role } }
            if account == "bob" && role == "admin"
    ));
    let cli = parse_from(["gaslamp", "user", "list"]).expect("parse");
    assert!(matches!(
        &cli.command,
        Command::User {
            command: UserCommand::List { filter: None }
        }
    ));
    assert!(parse_from(["gaslamp", "user", "passwd"]).is_err());
}

#[test]
fn gaslamp_mssp_finds_the_server_by_the_files_bind_and_ignores_run_s_settings() {
    let (_dir, path) = config_file("bind = \"127.0.0.1:4100\"\nidle-timeout = \"30m\"\n");
    let cli = parse_with(&path, &["mssp"]).expect("parse");
    let Command::Mssp(args) = &cli.command else {
        panic!("expected mssp");
    };
    assert_eq!(args.bind, "127.0.0.1:4100");
    let cli = parse_with(&path, &["mssp", "--bind", "mud.example.org:4000"]).expect("parse");
    let Command::Mssp(args) = &cli.command else {
        panic!("expected mssp");
    };
    assert_eq!(args.bind, "mud.example.org:4000", "the flag wins");
    // The file still serves `run`, and a key no subcommand knows is refused.
    let config = run_config(&parse_with(&path, &["run"]).expect("parse"));
    assert_eq!(config.bind.to_string(), "127.0.0.1:4100");
    let message = config_error("binds = \"x\"\n", &["mssp"]);
    assert!(message.contains("unknown key"), "{message}");
}

#[test]
fn the_spill_folder_defaults_to_the_temporary_folder_and_comes_from_flag_or_file() {
    let (_dir, path) = config_file("spill-dir = \"/var/lib/gaslamp/spill\"\n");
    let config = run_config(&parse_with(&path, &["run"]).expect("parse"));
    assert_eq!(config.spill_dir, PathBuf::from("/var/lib/gaslamp/spill"));
    let config =
        run_config(&parse_with(&path, &["run", "--spill-dir", "/srv/spill"]).expect("parse"));
    assert_eq!(config.spill_dir, PathBuf::from("/srv/spill"));
    let cli = Cli::try_parse_from(["gaslamp", "run"]).expect("parse");
    assert_eq!(run_config(&cli).spill_dir, std::env::temp_dir());
}

#[test]
fn backup_flags_make_a_schedule_beside_the_database_unless_told_where() {
    let cli = Cli::try_parse_from(["gaslamp", "--db", "/srv/g/game.db", "run"]).expect("parse");
    assert_eq!(run_config(&cli).backups, None, "no backups unless asked");
    let cli = parse_from([
        "gaslamp",
        "--db",
        "/srv/g/game.db",
        "run",
        "--backup-every",
        "6h",
    ])
    .expect("parse");
    assert_eq!(
        run_config(&cli).backups,
        Some(BackupSchedule {
            every: Duration::from_secs(6 * 3600),
            keep: 7,
            dir: PathBuf::from("/srv/g/backups"),
        })
    );
    let (_dir, path) =
        config_file("backup-every = \"1d\"\nbackup_keep = 3\nbackup-dir = \"/mnt/b\"\n");
    let config = run_config(&parse_with(&path, &["run"]).expect("parse"));
    let schedule = config.backups.expect("a schedule");
    assert_eq!((schedule.keep, schedule.dir), (3, PathBuf::from("/mnt/b")));
    let refused =
        parse_from(["gaslamp", "run", "--backup-dir", "/mnt/b"]).expect_err("no schedule");
    assert!(refused.to_string().contains("--backup-every"), "{refused}");
    let refused = parse_from([
        "gaslamp",
        "run",
        "--backup-every",
        "1h",
        "--backup-keep",
        "0",
    ]);
    assert!(refused.is_err(), "at least one copy is kept");
}

#[test]
fn backup_and_restore_take_a_file() {
    let cli = Cli::try_parse_from(["gaslamp", "backup", "copy.db", "--force"]).expect("parse");
    assert!(
        matches!(&cli.command, Command::Backup { file, force: true } if file == Path::new("copy.db"))
    );
    let cli =
        Cli::try_parse_from(["gaslamp", "--db", "g.db", "restore", "copy.db"]).expect("parse");
    assert!(matches!(&cli.command, Command::Restore { file } if file == Path::new("copy.db")));
    assert!(
        Cli::try_parse_from(["gaslamp", "restore"]).is_err(),
        "a file is needed"
    );
}
