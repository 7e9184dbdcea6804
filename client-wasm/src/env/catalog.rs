//! The built-in environments, by the name an experiment's `[game] env` gives.

use rollgym_protocol::GameConfig;

use crate::env::{
    DynEnv,
    overcooked::{self, Layout, Overcooked},
    slime::{self, Slime},
};

/// The built-in environment `config` names, or `None` when the name is not a built-in one (the
/// page must supply it).
pub fn built_in(config: &GameConfig) -> Option<Result<DynEnv, String>> {
    Some(match config.env.as_str() {
        "overcooked" => Layout::classic(&config.layout)
            .map(|layout| {
                let rules = overcooked::Rules { cook_time: config.cook_time };
                DynEnv::new(Overcooked::new(layout, rules))
            })
            .map_err(|e| e.to_string()),
        "slime_volleyball" => {
            let rules = slime::Rules { points_to_win: config.points_to_win };
            Ok(DynEnv::new(Slime::new(rules)))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use rollgym_protocol::BUILT_IN_ENVS;

    use super::*;
    use crate::env::Env;

    #[test]
    fn every_built_in_name_the_relay_accepts_is_here() {
        for name in BUILT_IN_ENVS {
            let config = GameConfig { env: name.into(), ..GameConfig::default() };
            let env = built_in(&config).expect("built in").expect("valid");
            assert_eq!(env.identity().name, name);
        }
        let config = GameConfig { env: "my_game".into(), ..GameConfig::default() };
        assert!(built_in(&config).is_none());
    }
}
