//! Unit tests of `config` (a separate file so test-only unwraps stay out of the module).

use super::*;

fn refusal(w: WorkerArgs) -> String {
    let e = WorkerConfig::from_args(&NatsArgs::for_url("nats://127.0.0.1:4222"), &w).unwrap_err();
    e.to_string()
}

#[test]
fn out_of_range_flags_are_refused_with_the_flag_named() {
    assert!(WorkerConfig::from_args(&NatsArgs::for_url("x"), &WorkerArgs::default()).is_ok());
    assert_eq!(
        refusal(WorkerArgs {
            replicas: 6,
            ..WorkerArgs::default()
        }),
        "--replicas must be 1 to 5"
    );
    assert_eq!(
        refusal(WorkerArgs {
            clock_window_secs: 0,
            ..WorkerArgs::default()
        }),
        "--clock-window-secs must be 1 to 600"
    );
    assert_eq!(
        refusal(WorkerArgs {
            argon2_m_kib: 1,
            ..WorkerArgs::default()
        }),
        "invalid Argon2 parameters (--argon2-m-kib must be at least 8 x --argon2-p)"
    );
    assert_eq!(
        validate_prefix("a..b").unwrap_err().to_string(),
        "--prefix must be dot-separated tokens of letters, digits, '_' or '-'"
    );
    assert!(validate_prefix("roster.eu-1").is_ok());
}

#[test]
fn file_errors_keep_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let e = secret_from(None, Some(&missing)).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(std::error::Error::source(&e).is_some());
    // At the edge anyhow prints the chain, as the command line always did.
    let shown = format!("{:#}", anyhow::Error::from(e));
    assert!(
        shown.starts_with(&format!("reading {}: ", missing.display())),
        "{shown}"
    );

    let empty = dir.path().join("empty");
    std::fs::write(&empty, " \n").unwrap();
    let e = secret_from(None, Some(&empty)).unwrap_err();
    assert_eq!(e.to_string(), format!("{} is empty", empty.display()));

    let seed = dir.path().join("seed");
    std::fs::write(&seed, "not a seed").unwrap();
    let e = CalloutConfig::from_files(
        &seed,
        None,
        "ROSTER",
        std::time::Duration::from_secs(1),
        crate::templates::Templates::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ConfigError::IssuerSeed(_)), "{e:?}");
    assert!(format!("{:#}", anyhow::Error::from(e)).starts_with("issuer seed: "));
}
