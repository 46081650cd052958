//! Which real clients the end-to-end tests drive are installed here, said on every
//! `cargo test --workspace` (not captured, whatever the other tests print).
//!
//! A test whose tool is missing returns at once and is reported `ok` by the test harness:
//! without this, a newcomer's run would look fully green while checking no real decoder,
//! browser or encoder. Under CI (`CI` set, as `.ci/run` does) a missing tool fails here too.

use onair_tests::REAL_CLIENTS;

fn main() {
    let missing: Vec<_> = REAL_CLIENTS
        .iter()
        .filter(|tool| tool.find().is_none())
        .collect();
    println!();
    for tool in REAL_CLIENTS {
        match tool.find() {
            Some(path) => println!("real client {:<12} installed: {}", tool.name, path.display()),
            None => println!(
                "real client {:<12} MISSING: the tests that need it are SKIPPED (they pass without running); {}",
                tool.name, tool.install
            ),
        }
    }
    if missing.is_empty() {
        println!(
            "real clients: all {} installed, no test skipped",
            REAL_CLIENTS.len()
        );
        return;
    }
    println!(
        "real clients: {} of {} missing; tests needing them were SKIPPED (.ci/run installs them)",
        missing.len(),
        REAL_CLIENTS.len()
    );
    if std::env::var_os("CI").is_some() {
        eprintln!("under CI every real client must be installed");
        std::process::exit(1);
    }
}
