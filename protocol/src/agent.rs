//! What a user-agent string says about the device and the browser, and the browser rules of
//! `[screening]` (`"chrome >= 110"`). Deliberately small: the few browsers a study admits or
//! refuses by name, told apart by the tokens each puts in its user agent; anything else is an
//! unknown browser, which an allow-list turns away.

use crate::{Device, ScreenFacts};

/// The device a page runs on. iPadOS reports a desktop Safari user agent, so a "Macintosh"
/// with touch points is a tablet.
pub fn device_of(facts: &ScreenFacts) -> Device {
    let ua = facts.user_agent.as_str();
    let tablet = ua.contains("iPad")
        || ua.contains("Tablet")
        || (ua.contains("Android") && !ua.contains("Mobile"))
        || (ua.contains("Macintosh") && facts.touch_points > 1);
    if tablet {
        Device::Tablet
    } else if ua.contains("Mobi") || ua.contains("iPhone") || facts.mobile == Some(true) {
        Device::Mobile
    } else {
        Device::Desktop
    }
}

/// The browser's name (lowercase, as in the rules) and major version, if recognised.
pub fn browser_of(user_agent: &str) -> Option<(&'static str, u32)> {
    // Order matters: Edge, Opera and Samsung's browser also say "Chrome", Chrome on iOS says
    // "Safari", and every browser says "Mozilla".
    const TOKENS: [(&str, &str); 10] = [
        ("Edg/", "edge"),
        ("EdgA/", "edge"),
        ("EdgiOS/", "edge"),
        ("OPR/", "opera"),
        ("SamsungBrowser/", "samsung"),
        ("Firefox/", "firefox"),
        ("FxiOS/", "firefox"),
        ("CriOS/", "chrome"),
        ("HeadlessChrome/", "chrome"),
        ("Chrome/", "chrome"),
    ];
    for (token, name) in TOKENS {
        if let Some(version) = version_after(user_agent, token) {
            return Some((name, version));
        }
    }
    if user_agent.contains("Safari/") {
        return version_after(user_agent, "Version/").map(|v| ("safari", v));
    }
    None
}

/// The major version number right after `token`.
fn version_after(text: &str, token: &str) -> Option<u32> {
    let rest = &text[text.find(token)? + token.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).take(6).collect();
    digits.parse().ok()
}

/// Browser names a rule may use.
pub const BROWSER_NAMES: [&str; 6] = ["chrome", "firefox", "edge", "safari", "opera", "samsung"];

/// One browser rule: a name, optionally compared with a major version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserRule {
    pub name: String,
    pub version: Option<(Compare, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    AtLeast,
    Above,
    AtMost,
    Below,
    Exactly,
}

impl BrowserRule {
    /// Parses `"chrome"`, `"chrome >= 110"`, `"safari < 16"` (spaces optional).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|c: char| "<>=".contains(c)).unwrap_or(text.len());
        let name = text[..split].trim().to_ascii_lowercase();
        if !BROWSER_NAMES.contains(&name.as_str()) {
            return Err(format!("unknown browser {name:?} (known: {})", BROWSER_NAMES.join(", ")));
        }
        let rest = text[split..].trim();
        if rest.is_empty() {
            return Ok(Self { name, version: None });
        }
        let ops = [
            (">=", Compare::AtLeast),
            ("<=", Compare::AtMost),
            (">", Compare::Above),
            ("<", Compare::Below),
            ("=", Compare::Exactly),
        ];
        let (op, compare) = ops
            .iter()
            .find(|(op, _)| rest.starts_with(op))
            .ok_or_else(|| format!("cannot read {text:?}: expected e.g. \"chrome >= 110\""))?;
        let version = rest[op.len()..]
            .trim()
            .parse()
            .map_err(|_| format!("cannot read the version in {text:?}: a whole number"))?;
        Ok(Self { name, version: Some((*compare, version)) })
    }

    /// Whether a browser (name, major version) matches the rule.
    pub fn matches(&self, name: &str, version: u32) -> bool {
        self.name == name
            && self.version.is_none_or(|(compare, v)| match compare {
                Compare::AtLeast => version >= v,
                Compare::Above => version > v,
                Compare::AtMost => version <= v,
                Compare::Below => version < v,
                Compare::Exactly => version == v,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    const HEADLESS: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
    const ANDROID_PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
    const ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const IPAD_DESKTOP_MODE: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";
    const FIREFOX: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";

    fn facts(ua: &str, touch_points: u32) -> ScreenFacts {
        ScreenFacts { user_agent: ua.into(), touch_points, ..ScreenFacts::default() }
    }

    #[test]
    fn devices_are_told_apart() {
        assert_eq!(device_of(&facts(CHROME_DESKTOP, 0)), Device::Desktop);
        assert_eq!(device_of(&facts(IPHONE, 5)), Device::Mobile);
        assert_eq!(device_of(&facts(ANDROID_PHONE, 5)), Device::Mobile);
        assert_eq!(device_of(&facts(ANDROID_TABLET, 5)), Device::Tablet);
        assert_eq!(device_of(&facts(IPAD_DESKTOP_MODE, 5)), Device::Tablet);
        assert_eq!(device_of(&facts(IPAD_DESKTOP_MODE, 0)), Device::Desktop, "a real Mac");
        let hinted = ScreenFacts { mobile: Some(true), ..facts(CHROME_DESKTOP, 0) };
        assert_eq!(device_of(&hinted), Device::Mobile, "userAgentData says mobile");
    }

    #[test]
    fn browsers_and_major_versions_are_read() {
        assert_eq!(browser_of(CHROME_DESKTOP), Some(("chrome", 156)));
        assert_eq!(browser_of(HEADLESS), Some(("chrome", 156)));
        assert_eq!(browser_of(IPHONE), Some(("safari", 17)));
        assert_eq!(browser_of(FIREFOX), Some(("firefox", 128)));
        assert_eq!(browser_of(EDGE), Some(("edge", 120)));
        assert_eq!(browser_of("curl/8.0"), None);
        assert_eq!(browser_of("Chrome/"), None, "no version, no browser");
    }

    #[test]
    fn rules_parse_and_match() {
        let rule = BrowserRule::parse("chrome >= 110").expect("valid");
        assert!(rule.matches("chrome", 110) && rule.matches("chrome", 156));
        assert!(!rule.matches("chrome", 109) && !rule.matches("edge", 120));
        let rule = BrowserRule::parse("Safari<16").expect("valid");
        assert!(rule.matches("safari", 15) && !rule.matches("safari", 16));
        assert!(BrowserRule::parse("firefox").expect("valid").matches("firefox", 1));
        assert!(BrowserRule::parse("netscape >= 4").is_err());
        assert!(BrowserRule::parse("chrome ~ 4").is_err());
        assert!(BrowserRule::parse("chrome >= x").is_err());
    }
}
