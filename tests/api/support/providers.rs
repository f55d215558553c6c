//! The identity platforms' stand-ins (tests/providers): one Node process shared
//! by every test of this binary, each platform on its own free port.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// Where the stand-ins listen, and Piano's application.
pub struct Platforms {
    pub auth0: String,
    pub gigya: String,
    pub oidc: String,
    pub piano: String,
    pub piano_aid: String,
    pub piano_api_token: String,
    pub piano_production_key: String,
    _child: Mutex<Child>,
}

pub fn platforms() -> &'static Platforms {
    static PLATFORMS: OnceLock<Platforms> = OnceLock::new();
    PLATFORMS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/providers");
        let mut child = Command::new("node")
            .args(["server.js", "--exit-with-stdin"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node must be installed to run the platforms' stand-ins");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let urls: Value = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the platforms' stand-ins exited"
            );
            if let Some(json) = line.trim().strip_prefix("authproxy-provider-stand-ins ") {
                break serde_json::from_str(json).unwrap();
            }
        };
        std::thread::spawn(move || for _ in stdout.lines() {});
        let text = |v: &Value| v.as_str().unwrap().to_owned();
        Platforms {
            auth0: text(&urls["auth0"]),
            gigya: text(&urls["gigya"]),
            oidc: text(&urls["oidc"]),
            piano: text(&urls["piano"]["url"]),
            piano_aid: text(&urls["piano"]["aid"]),
            piano_api_token: text(&urls["piano"]["api_token"]),
            piano_production_key: text(&urls["piano"]["production_key"]),
            _child: Mutex::new(child),
        }
    })
}
