//! Loading the experiment file.

use std::path::{Path, PathBuf};

use rollgym_protocol::ExperimentConfig;

use crate::error::StartError;

/// The experiment `rollgym serve` runs when given no file.
pub const DEFAULT_EXPERIMENT: &str = include_str!("../../experiments/overcooked_demo.toml");
/// Shown in messages about the default experiment.
pub const DEFAULT_EXPERIMENT_NAME: &str = "<bundled experiments/overcooked_demo.toml>";

/// Reads and validates an experiment file, or the bundled default when `path` is `None`.
pub fn load(path: Option<&Path>) -> Result<ExperimentConfig, StartError> {
    match path {
        None => parse(DEFAULT_EXPERIMENT, Path::new(DEFAULT_EXPERIMENT_NAME)),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|source| StartError::ReadConfig { path: path.to_owned(), source })?;
            parse(&text, path)
        }
    }
}

/// Parses and validates experiment TOML; `path` only labels errors.
pub fn parse(text: &str, path: &Path) -> Result<ExperimentConfig, StartError> {
    let config: ExperimentConfig = toml::from_str(text).map_err(|e| StartError::ParseConfig {
        path: PathBuf::from(path),
        message: e.to_string(),
    })?;
    config
        .validate()
        .map_err(|source| StartError::InvalidConfig { path: PathBuf::from(path), source })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_experiments_are_valid() {
        for file in ["two_rounds.toml", "overcooked_demo.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments").join(file);
            let config = load(Some(&path)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(config.webrtc.ice_servers.is_empty(), "{file} stays hermetic");
        }
    }

    #[test]
    fn scene_ids_must_be_unique_and_a_gym_scene_must_exist() {
        let twice = "[experiment]\nid = \"x\"\n[[scenes]]\nkind = \"gym\"\nid = \"a\"\n[[scenes]]\nkind = \"static\"\nid = \"a\"\n";
        let err = parse(twice, Path::new("e.toml")).expect_err("duplicate");
        assert!(err.to_string().contains("used twice"), "{err}");
        let no_game = "[experiment]\nid = \"x\"\n[[scenes]]\nkind = \"static\"\nid = \"a\"\n";
        let err = parse(no_game, Path::new("e.toml")).expect_err("no gym");
        assert!(err.to_string().contains("no gym scene"), "{err}");
        let typo =
            "[experiment]\nid = \"x\"\n[[scenes]]\nkind = \"gym\"\nid = \"a\"\ntitel = \"t\"\n";
        assert!(parse(typo, Path::new("e.toml")).is_err(), "unknown scene keys are errors");
    }

    #[test]
    fn the_group_size_must_fit_the_layout_and_the_mesh() {
        let three = "[experiment]\nid = \"x\"\n[game]\nlayout = \"wide_room_3\"\n";
        let err = parse(three, Path::new("e.toml")).expect_err("3 chefs, pairs").to_string();
        assert!(err.contains("\"wide_room_3\" is for 3 players, but matchmaking.group_size is 2"));
        let grouped = format!("{three}[matchmaking]\ngroup_size = 3\n");
        let config = parse(&grouped, Path::new("e.toml")).expect("3 chefs, groups of 3");
        assert_eq!(config.scenes()[0].gym().map(|g| g.matchmaking.group_size), Some(3));
        for size in [1, 5] {
            let bad = format!("{three}[matchmaking]\ngroup_size = {size}\n");
            let err = parse(&bad, Path::new("e.toml")).expect_err("size").to_string();
            assert!(err.contains("group_size must be 2 to 4"), "{err}");
        }
        let pair_continues = "[experiment]\nid = \"x\"\n[game]\non_player_leave = \"continue\"\n";
        let err = parse(pair_continues, Path::new("e.toml")).expect_err("a pair").to_string();
        assert!(err.contains("on_player_leave = \"continue\" is for groups"), "{err}");
        let continuing = grouped.replace("[game]\n", "[game]\non_player_leave = \"continue\"\n");
        assert!(parse(&continuing, Path::new("e.toml")).is_ok(), "{continuing}");
        let probed = format!("{grouped}max_p2p_rtt_ms = 100\n");
        assert!(parse(&probed, Path::new("e.toml")).is_ok(), "groups probe every pair");
    }

    #[test]
    fn bundled_experiment_is_valid_and_contacts_nothing_outside() {
        let config = load(None).expect("bundled config is valid");
        assert!(config.webrtc.ice_servers.is_empty(), "default config must stay hermetic");
    }

    #[test]
    fn every_experiment_shipped_in_experiments_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("experiments/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                load(Some(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                checked += 1;
            }
        }
        assert!(checked >= 3, "found {checked} experiments");
    }

    #[test]
    fn typos_are_reported_with_the_key() {
        let err =
            parse("[experiment]\nid = \"x\"\n[webrtc]\nice_server = []\n", Path::new("e.toml"))
                .expect_err("unknown key");
        assert!(err.to_string().contains("ice_server"), "{err}");
    }

    #[test]
    fn force_relay_needs_a_turn_server() {
        let text = "[experiment]\nid = \"x\"\n[webrtc]\nforce_relay = true\n";
        let err = parse(text, Path::new("e.toml")).expect_err("invalid");
        assert!(err.to_string().contains("force_relay"), "{err}");
        let with_turn = "[experiment]\nid = \"x\"\n[webrtc]\nforce_relay = true\n[webrtc.turn]\nurls = [\"turn:t.example:3478\"]\n";
        let config = parse(with_turn, Path::new("e.toml")).expect("a [webrtc.turn] server counts");
        assert_eq!(config.webrtc.turn.map(|t| t.ttl_s), Some(6 * 3600), "the default lifetime");
        let stun = "[experiment]\nid = \"x\"\n[webrtc.turn]\nurls = [\"stun:t.example\"]\n";
        let err = parse(stun, Path::new("e.toml")).expect_err("not a TURN url");
        assert!(err.to_string().contains("stun:t.example"), "{err}");
        let none = "[experiment]\nid = \"x\"\n[webrtc.turn]\nurls = []\n";
        assert!(parse(none, Path::new("e.toml")).is_err(), "no url");
    }

    #[test]
    fn a_probe_threshold_of_zero_is_refused() {
        let text = "[experiment]\nid = \"x\"\n[matchmaking]\nmax_p2p_rtt_ms = 0\n";
        let err = parse(text, Path::new("e.toml")).expect_err("invalid");
        assert!(err.to_string().contains("max_p2p_rtt_ms"), "{err}");
        let fine = "[experiment]\nid = \"x\"\n[matchmaking]\nmax_p2p_rtt_ms = 150\n";
        let config = parse(fine, Path::new("e.toml")).expect("valid");
        assert_eq!(config.scenes()[0].gym().map(|g| g.matchmaking.max_p2p_rtt_ms), Some(Some(150)));
    }

    #[test]
    fn screening_and_outcomes_are_checked() {
        let with = |table: &str| format!("[experiment]\nid = \"x\"\n{table}\n");
        let cases = [
            ("[screening]\nbrowsers = [\"netscape >= 4\"]", "netscape"),
            ("[screening]\nblocked_browsers = [\"chrome ~ 4\"]", "chrome ~ 4"),
            ("[screening]\ndevices = []", "screening.devices"),
            ("[screening]\ndevices = [\"fridge\"]", "fridge"),
            ("[screening]\nmin_window = [0, 600]", "min_window"),
            ("[loading]\ntimeout_ms = 10", "loading.timeout_ms"),
            ("[outcomes.screened_out]\nredirect_url = \"ftp://x\"", "outcomes.screened_out"),
            ("[outcomes.screenedout]\nmessage = \"x\"", "screenedout"),
            ("[monitoring]\ntab_exclude_ms = 500", "monitoring.tab_exclude_ms"),
            ("[monitoring]\nrtt_violations = [6, 5]", "monitoring.rtt_violations"),
            ("[monitoring]\ntab_hidden_ms = 500", "tab_hidden_ms"),
            ("[matchmaking]\nrtt_source = \"webrtc\"", "rtt_source"),
            ("[matchmaking]\nrtt_source = \"carrier_pigeon\"", "carrier_pigeon"),
        ];
        for (table, named) in cases {
            let err = parse(&with(table), Path::new("e.toml")).expect_err(table);
            assert!(err.to_string().contains(named), "{table}: {err}");
        }
        let fine = with(
            "[screening]\ndevices = [\"desktop\"]\nbrowsers = [\"chrome >= 110\", \"firefox\"]\nmin_window = [800, 600]\n[outcomes.screened_out]\ncompletion_code = \"S1\"",
        );
        let config = parse(&fine, Path::new("e.toml")).expect("valid");
        assert!(config.screening.is_active());
        assert_eq!(config.screening.request().min_width, 800);
        let watched = with(
            "[screening]\nwebrtc = true\n[matchmaking]\nkind = \"latency_fifo\"\nrtt_source = \"webrtc\"\n[monitoring]\nmax_p2p_rtt_ms = 300\ntab_warning_ms = 3000\ntab_exclude_ms = 10000\n[outcomes.excluded]\ncompletion_code = \"X1\"",
        );
        let config = parse(&watched, Path::new("e.toml")).expect("valid");
        let scenes = config.scenes();
        let gym = scenes[0].gym().expect("gym");
        assert_eq!(gym.monitoring.tab_exclude_ms, Some(10_000), "the top-level table applies");
    }

    #[test]
    fn experiment_id_must_be_safe_for_paths() {
        let err =
            parse("[experiment]\nid = \"../up\"\n", Path::new("e.toml")).expect_err("invalid");
        assert!(err.to_string().contains("experiment.id"), "{err}");
    }
}
