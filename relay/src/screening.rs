//! The screening rules of `[screening]`, judged on what a page reported: pure functions, so
//! every rule is tested here and the lobby only carries the verdict out.

use rollgym_protocol::{
    BrowserRule, Device, MAX_CUSTOM_MESSAGE_LEN, MAX_USER_AGENT_LEN, OutcomeConfig, PeerReport,
    ScreenFacts, ScreenRule, ScreeningConfig, TooFewSamples, browser_of, device_of,
};

/// What screening found: the facts as recorded, and the first rule that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub device: Device,
    pub browser: Option<(String, u32)>,
    pub failed: Option<ScreenRule>,
}

/// Cuts what a page sent to the sizes the records keep.
pub fn bound(mut facts: ScreenFacts) -> ScreenFacts {
    truncate(&mut facts.user_agent, MAX_USER_AGENT_LEN);
    if let Some(message) = facts.custom.as_mut().and_then(|c| c.message.as_mut()) {
        truncate(message, MAX_CUSTOM_MESSAGE_LEN);
    }
    if let Some(error) = facts.webrtc_error.as_mut() {
        truncate(error, MAX_CUSTOM_MESSAGE_LEN);
    }
    facts
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// Judges the rules in a fixed order (device, browser, window, WebRTC, round trip, the page's
/// own rule); the first that fails is the reason. `peer` is the relay's own peer's report,
/// where the rules asked for one.
pub fn judge(config: &ScreeningConfig, facts: &ScreenFacts, peer: Option<&PeerReport>) -> Verdict {
    let device = device_of(facts);
    let browser = browser_of(&facts.user_agent);
    let parsed = |rules: &[String]| -> Vec<BrowserRule> {
        // The config was validated at start, so every rule parses.
        rules.iter().filter_map(|r| BrowserRule::parse(r).ok()).collect()
    };
    let matches_any = |rules: &[BrowserRule]| {
        browser.is_some_and(|(name, version)| rules.iter().any(|r| r.matches(name, version)))
    };
    let device_ok = config.devices.as_ref().is_none_or(|allowed| allowed.contains(&device));
    let allowed = config.browsers.as_deref().is_none_or(|rules| matches_any(&parsed(rules)));
    let browser_ok = allowed && !matches_any(&parsed(&config.blocked_browsers));
    let window_ok =
        config.min_window.is_none_or(|[w, h]| facts.window[0] >= w && facts.window[1] >= h);
    let custom_ok = !config.custom || facts.custom.as_ref().is_some_and(|c| c.passed);
    let connected = peer.is_some_and(|p| p.connected);
    let webrtc_ok = !config.needs_peer() || connected;
    let rtt_ok = config.max_rtt_ms.is_none_or(|max| {
        let samples = peer.map_or(&[][..], |p| &p.rtt_samples[..]);
        if samples.len() < config.rtt_min_samples as usize {
            config.too_few_samples == TooFewSamples::Admit
        } else {
            crate::median::median(samples).is_some_and(|rtt| rtt <= max)
        }
    });
    let failed = [
        (device_ok, ScreenRule::Device),
        (browser_ok, ScreenRule::Browser),
        (window_ok, ScreenRule::Window),
        (webrtc_ok, ScreenRule::Webrtc),
        (rtt_ok, ScreenRule::Rtt),
        (custom_ok, ScreenRule::Custom),
    ]
    .into_iter()
    .find_map(|(ok, rule)| (!ok).then_some(rule));
    Verdict { device, browser: browser.map(|(n, v)| (n.to_owned(), v)), failed }
}

/// What a participant turned away by `rule` reads: the rule's own message from
/// `[screening.messages]`, else the page's (its own rule), else `[outcomes.screened_out]`'s,
/// else one that says what is needed.
pub fn message(
    config: &ScreeningConfig,
    outcome: Option<&OutcomeConfig>,
    rule: ScreenRule,
    verdict: &Verdict,
    facts: &ScreenFacts,
) -> String {
    let messages = &config.messages;
    let own = match rule {
        ScreenRule::Device => messages.device.clone(),
        ScreenRule::Browser => messages.browser.clone(),
        ScreenRule::Window => messages.window.clone(),
        ScreenRule::Webrtc => messages.webrtc.clone(),
        ScreenRule::Rtt => messages.rtt.clone(),
        ScreenRule::Custom => messages.custom.clone().or_else(|| {
            facts.custom.as_ref().and_then(|c| c.message.clone()).filter(|m| !m.is_empty())
        }),
    };
    own.or_else(|| outcome.and_then(|o| o.message.clone()))
        .unwrap_or_else(|| default_message(config, rule, verdict))
}

fn default_message(config: &ScreeningConfig, rule: ScreenRule, verdict: &Verdict) -> String {
    let device_name = |d: &Device| match d {
        Device::Desktop => "desktop or laptop computer",
        Device::Tablet => "tablet",
        Device::Mobile => "phone",
    };
    match rule {
        ScreenRule::Device => {
            let allowed: Vec<&str> = config.devices.iter().flatten().map(device_name).collect();
            format!(
                "Sorry, this study cannot be done on a {}. Please use a {}.",
                device_name(&verdict.device),
                allowed.join(" or ")
            )
        }
        ScreenRule::Browser => match &config.browsers {
            Some(allowed) => format!(
                "Sorry, this study does not work in your browser. Please use one of: {}.",
                allowed.join(", ")
            ),
            None => "Sorry, this study does not work in your browser.".into(),
        },
        ScreenRule::Window => "Sorry, your browser window is too small for this study.".into(),
        ScreenRule::Webrtc => "Sorry, your browser or network does not allow the direct connections this study needs. Another browser or network may work.".into(),
        ScreenRule::Rtt => "Sorry, your internet connection is too slow for this study.".into(),
        ScreenRule::Custom => "Sorry, you cannot take part in this study.".into(),
    }
}

#[cfg(test)]
mod tests {
    use rollgym_protocol::CustomVerdict;

    use super::*;

    const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

    fn facts(ua: &str) -> ScreenFacts {
        ScreenFacts { user_agent: ua.into(), window: [1280, 800], ..ScreenFacts::default() }
    }

    #[test]
    fn no_rules_admit_everyone() {
        let verdict = judge(&ScreeningConfig::default(), &facts(PHONE), None);
        assert_eq!(verdict.failed, None);
        assert_eq!(verdict.device, Device::Mobile);
        assert_eq!(verdict.browser, Some(("safari".into(), 17)));
    }

    #[test]
    fn each_rule_turns_away_what_it_names() {
        let desktop_only =
            ScreeningConfig { devices: Some(vec![Device::Desktop]), ..Default::default() };
        assert_eq!(judge(&desktop_only, &facts(PHONE), None).failed, Some(ScreenRule::Device));
        assert_eq!(judge(&desktop_only, &facts(CHROME), None).failed, None);

        let new_chrome =
            ScreeningConfig { browsers: Some(vec!["chrome >= 157".into()]), ..Default::default() };
        assert_eq!(judge(&new_chrome, &facts(CHROME), None).failed, Some(ScreenRule::Browser));
        assert_eq!(judge(&new_chrome, &facts("curl/8"), None).failed, Some(ScreenRule::Browser));
        let blocked =
            ScreeningConfig { blocked_browsers: vec!["safari".into()], ..Default::default() };
        assert_eq!(judge(&blocked, &facts(PHONE), None).failed, Some(ScreenRule::Browser));
        assert_eq!(judge(&blocked, &facts(CHROME), None).failed, None);

        let big = ScreeningConfig { min_window: Some([1300, 700]), ..Default::default() };
        assert_eq!(judge(&big, &facts(CHROME), None).failed, Some(ScreenRule::Window));

        let custom = ScreeningConfig { custom: true, ..Default::default() };
        assert_eq!(
            judge(&custom, &facts(CHROME), None).failed,
            Some(ScreenRule::Custom),
            "no verdict"
        );
        let passed = ScreenFacts {
            custom: Some(CustomVerdict { passed: true, message: None }),
            ..facts(CHROME)
        };
        assert_eq!(judge(&custom, &passed, None).failed, None);
    }

    #[test]
    fn the_peer_rules_need_an_open_channel_and_enough_fast_round_trips() {
        let webrtc = ScreeningConfig { webrtc: true, ..Default::default() };
        let desktop = facts(CHROME);
        let report = |connected, rtt_samples: &[u32]| PeerReport {
            connected,
            rtt_samples: rtt_samples.to_vec(),
            ..PeerReport::default()
        };
        assert_eq!(judge(&webrtc, &desktop, None).failed, Some(ScreenRule::Webrtc));
        assert_eq!(
            judge(&webrtc, &desktop, Some(&report(false, &[]))).failed,
            Some(ScreenRule::Webrtc)
        );
        assert_eq!(judge(&webrtc, &desktop, Some(&report(true, &[]))).failed, None);

        let fast = ScreeningConfig { max_rtt_ms: Some(100), ..Default::default() };
        assert!(fast.needs_peer(), "a round-trip limit needs the peer");
        assert_eq!(
            judge(&fast, &desktop, Some(&report(true, &[300, 20, 30, 40, 310]))).failed,
            None,
            "the median"
        );
        assert_eq!(
            judge(&fast, &desktop, Some(&report(true, &[300, 200, 30]))).failed,
            Some(ScreenRule::Rtt)
        );
        assert_eq!(
            judge(&fast, &desktop, Some(&report(true, &[10, 10]))).failed,
            Some(ScreenRule::Rtt),
            "too few"
        );
        let lenient = ScreeningConfig { too_few_samples: TooFewSamples::Admit, ..fast };
        assert_eq!(judge(&lenient, &desktop, Some(&report(true, &[10, 10]))).failed, None);
    }

    #[test]
    fn the_first_failed_rule_is_the_reason_and_messages_say_what_is_needed() {
        let config = ScreeningConfig {
            devices: Some(vec![Device::Desktop]),
            blocked_browsers: vec!["safari".into()],
            ..Default::default()
        };
        let phone = facts(PHONE);
        let verdict = judge(&config, &phone, None);
        assert_eq!(verdict.failed, Some(ScreenRule::Device));
        let text = message(&config, None, ScreenRule::Device, &verdict, &phone);
        assert_eq!(
            text,
            "Sorry, this study cannot be done on a phone. Please use a desktop or laptop computer."
        );
        let general =
            OutcomeConfig { message: Some("Not this time.".into()), ..Default::default() };
        assert_eq!(
            message(&config, Some(&general), ScreenRule::Device, &verdict, &phone),
            "Not this time."
        );
        let mut own = config.clone();
        own.messages.device = Some("Desktops only.".into());
        assert_eq!(
            message(&own, Some(&general), ScreenRule::Device, &verdict, &phone),
            "Desktops only."
        );
    }

    #[test]
    fn oversized_reports_are_cut_on_a_character_boundary() {
        let mut long = facts(&"é".repeat(MAX_USER_AGENT_LEN));
        long.custom = Some(CustomVerdict { passed: false, message: Some("x".repeat(10_000)) });
        let cut = bound(long);
        assert!(cut.user_agent.len() <= MAX_USER_AGENT_LEN);
        assert!(cut.user_agent.chars().all(|c| c == 'é'));
        assert_eq!(
            cut.custom.and_then(|c| c.message).map(|m| m.len()),
            Some(MAX_CUSTOM_MESSAGE_LEN)
        );
    }
}
