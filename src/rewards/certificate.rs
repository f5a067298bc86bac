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

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
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
}
