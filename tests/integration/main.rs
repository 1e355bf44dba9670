//! Integration tests: the real server on 127.0.0.1:0 with a temporary SQLite
//! database, driven over TCP the way a telnet client would (over TLS and
//! WebSocket too), and the real binary, for the command line.

mod accounts;
mod admin;
mod aliases;
mod backup;
mod building;
mod channels;
mod cli;
mod containers;
mod crash;
mod creation;
mod doors;
mod ending;
mod faults;
mod ignore;
mod impressions;
mod items;
mod limits;
mod lockout;
mod login;
mod mail;
mod npcs;
mod oplog;
mod persistence;
mod play;
mod policy;
mod profile;
mod protocols;
mod prune;
mod races;
mod scripts;
mod shutdown;
mod socials;
mod spill;
mod support;
mod talk;
mod tls;
mod upgrade;
mod web;
mod worlds;
