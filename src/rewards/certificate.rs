//! A printable certificate for one award: a small, self-contained HTML page (print it, or
//! "save as PDF" from any browser). Every text is escaped.

/// What a certificate says.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    pub entrant_name: String,
    pub challenge_name: String,
    /// "1st place", "qualified", "thank you for taking part", or the rule's note.
    pub achievement: String,
    pub reward_name: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// Escapes text for HTML content and attribute values, and drops what could make it read
/// otherwise than it is: bidirectional embeddings, overrides and isolates (a name that
/// would display reversed, or swallow the text after it), and invisible characters that
/// make two names look alike (zero-width space, word joiner, byte-order mark). Input
/// refuses the first kind already (`api::json::printable`); this covers text stored
/// before, and whatever else reaches a page.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if crate::api::json::is_bidi_control(c) => {}
            '\u{200B}' | '\u{2060}' | '\u{FEFF}' => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

pub fn render(c: &Certificate) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Certificate: {entrant} — {challenge}</title>
<style>
  @page {{ size: A4 landscape; margin: 0; }}
  body {{ margin: 0; font-family: Georgia, "Times New Roman", serif; color: #1d2433; }}
  .sheet {{ box-sizing: border-box; width: 297mm; height: 210mm; padding: 22mm;
           display: flex; flex-direction: column; justify-content: center; text-align: center;
           border: 6mm double #b08d2f; }}
  h1 {{ font-size: 34pt; letter-spacing: 2pt; margin: 0 0 8mm; text-transform: uppercase; }}
  .name {{ font-size: 30pt; font-weight: bold; margin: 6mm 0; }}
  .what {{ font-size: 18pt; margin: 3mm 0; }}
  .date {{ font-size: 12pt; margin-top: 14mm; color: #555; }}
</style>
</head>
<body>
<main class="sheet">
  <h1>Certificate</h1>
  <p class="what">awarded to</p>
  <p class="name">{entrant}</p>
  <p class="what">for <strong>{achievement}</strong> in <em>{challenge}</em></p>
  <p class="what">{reward}</p>
  <p class="date">{date}</p>
</main>
</body>
</html>
"#,
        entrant = escape(&c.entrant_name),
        challenge = escape(&c.challenge_name),
        achievement = escape(&c.achievement),
        reward = escape(&c.reward_name),
        date = escape(&c.date),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        let html = render(&Certificate {
            entrant_name: "<script>alert(1)</script>".into(),
            challenge_name: "Spring & summer".into(),
            achievement: "1st place".into(),
            reward_name: "Espresso machine".into(),
            date: "2026-06-01".into(),
        });
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("Spring &amp; summer"));
        assert!(html.contains("1st place"));
    }

    #[test]
    fn overrides_and_invisible_characters_are_dropped_from_pages() {
        assert_eq!(escape("Ana\u{202E}lanigirO"), "AnalanigirO");
        assert_eq!(escape("\u{2067}Bob\u{2069}"), "Bob");
        assert_eq!(escape("Zo\u{200B}e\u{FEFF}"), "Zoe");
        // Marks and joiners are text, not tricks.
        assert_eq!(escape("\u{05E9}\u{200F}"), "\u{05E9}\u{200F}");
        assert_eq!(
            escape("\u{0915}\u{094D}\u{200D}\u{0937}"),
            "\u{0915}\u{094D}\u{200D}\u{0937}"
        );
    }
}
