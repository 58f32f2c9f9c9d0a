//! `telmail-local staff …` on the real binary: accounts added, listed, disabled, enabled, and
//! given a new password, with French answers and errors.

use std::process::{Command, Output};

fn staff(data: &std::path::Path, args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_telmail-local"));
    cmd.arg("--data-dir").arg(data).arg("staff").args(args);
    match password {
        Some(p) => cmd.env("TELMAIL_PASSWORD", p),
        None => cmd.env_remove("TELMAIL_PASSWORD"),
    };
    cmd.output().unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn accounts_are_managed_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let out = staff(
        data,
        &[
            "add",
            "claire",
            "--roles",
            "cabinet",
            "--name",
            "Claire Martin",
        ],
        Some("mot de passe très solide"),
    );
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("Compte « claire » créé."));

    let out = staff(data, &["list"], None);
    assert!(out.status.success());
    let list = said(&out);
    assert!(list.contains("claire") && list.contains("Claire Martin") && list.contains("cabinet"));
    assert!(list.contains("actif"), "{list}");

    let out = staff(data, &["disable", "claire"], None);
    assert!(
        said(&out).contains("« claire » désactivé"),
        "{}",
        said(&out)
    );
    assert!(said(&staff(data, &["list"], None)).contains("désactivé"));
    let out = staff(data, &["enable", "claire"], None);
    assert!(said(&out).contains("réactivé"));

    let out = staff(data, &["passwd", "claire"], Some("court"));
    assert!(!out.status.success());
    assert!(
        said(&out).contains("au moins 12 caractères"),
        "{}",
        said(&out)
    );
    let out = staff(
        data,
        &["passwd", "claire"],
        Some("un tout nouveau mot de passe"),
    );
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("Mot de passe de « claire » changé"));

    let out = staff(data, &["disable", "inconnu"], None);
    assert!(!out.status.success());
    assert!(said(&out).contains("Aucun compte « inconnu »"));
}
