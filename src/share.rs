//! The public results page behind a share link: a small, self-contained HTML page (no
//! script, inline style only) with the challenge, its rules, the podium and the
//! leaderboard. Entrants are named as the challenge allows: full names when its standings
//! are visible to all, initials otherwise. While the challenge runs the page reloads
//! itself. Every text is escaped.

use crate::rewards::certificate::escape;

/// One podium place (several entrants when tied).
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Which step it stands on: 1 (gold), 2 (silver) or 3 (bronze).
    pub step: u32,
    pub rank: u32,
    pub names: Vec<String>,
    pub score: String,
}

/// One leaderboard row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub rank: Option<u32>,
    pub name: String,
    pub score: String,
}

/// What the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicPage {
    pub challenge_name: String,
    pub rules_text: String,
    /// "2026-05-01 → 2026-05-31".
    pub period: String,
    /// Where the challenge is: "Running — 5 days left", "Final results"…
    pub status_line: String,
    /// Seconds between reloads; `None` once nothing changes any more.
    pub refresh_seconds: Option<u64>,
    /// `false` between the close and the announcement: the results are not public yet.
    pub show_results: bool,
    pub podium: Vec<Place>,
    pub leaderboard: Vec<Row>,
    /// "Updated 2026-05-12 09:30 UTC".
    pub updated: String,
}

/// "Julie Moreau" → "J. M."; names of one word keep their first letter.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The podium's places from ranked rows, tied entrants together. For the whole table
/// (`by_rank`) the places are ranks 1 to 3, each on its own step (a tie for first leaves
/// the silver step empty); for a part of it (a region), its three best ranks, in order.
pub fn podium_of(rows: &[Row], by_rank: bool) -> Vec<Place> {
    let mut places: Vec<Place> = Vec::new();
    for row in rows {
        let Some(rank) = row.rank else {
            continue;
        };
        if let Some(place) = places.iter_mut().find(|p| p.rank == rank) {
            place.names.push(row.name.clone());
            continue;
        }
        let step = if by_rank {
            rank
        } else {
            u32::try_from(places.len()).unwrap_or(u32::MAX) + 1
        };
        if step <= 3 {
            places.push(Place {
                step,
                rank,
                names: vec![row.name.clone()],
                score: row.score.clone(),
            });
        }
    }
    places.sort_by_key(|p| p.step);
    places
}

fn place_html(place: Option<&Place>, step: u32) -> String {
    let Some(place) = place else {
        return format!(r#"<div class="place place-{step} empty"><div class="block"></div></div>"#);
    };
    let names = place
        .names
        .iter()
        .map(|n| escape(n))
        .collect::<Vec<_>>()
        .join("<br>");
    format!(
        r#"<div class="place place-{step}" data-rank="{rank}"><p class="who">{names}</p><p class="score">{score}</p><div class="block"><span>{rank}</span></div></div>"#,
        rank = place.rank,
        score = escape(&place.score),
    )
}

pub fn render(page: &PublicPage) -> String {
    let refresh = page
        .refresh_seconds
        .map(|s| format!(r#"<meta http-equiv="refresh" content="{s}">"#))
        .unwrap_or_default();
    let results = if !page.show_results {
        r#"<p class="notice">The challenge is closed. The results will be announced soon.</p>"#
            .to_owned()
    } else if page.podium.is_empty() {
        r#"<p class="notice">No results yet: the podium appears with the first sales.</p>"#
            .to_owned()
    } else {
        // Second, first, third from left to right; the block heights say the step.
        let by_step = |step: u32| page.podium.iter().find(|p| p.step == step);
        let podium = format!(
            r#"<section class="podium" aria-label="Podium">{}{}{}</section>"#,
            place_html(by_step(2), 2),
            place_html(by_step(1), 1),
            place_html(by_step(3), 3),
        );
        let rows: String = page
            .leaderboard
            .iter()
            .map(|r| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                    r.rank.map(|r| r.to_string()).unwrap_or_else(|| "–".into()),
                    escape(&r.name),
                    escape(&r.score)
                )
            })
            .collect();
        format!(
            r#"{podium}
<section class="board"><h2>Leaderboard</h2>
<table><thead><tr><th>Rank</th><th>Name</th><th class="num">Score</th></tr></thead>
<tbody>{rows}</tbody></table></section>"#
        )
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
{refresh}
<title>{name} — results</title>
<style>
  body {{ margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2433; background: #f6f7fb; }}
  main {{ max-width: 880px; margin: 0 auto; padding: 24px; }}
  h1 {{ margin: 0 0 4px; font-size: 28px; }}
  .meta {{ color: #5b6475; margin: 0 0 16px; }}
  .rules {{ background: #fff; border-radius: 8px; padding: 12px 16px; white-space: pre-wrap; }}
  .podium {{ display: flex; justify-content: center; align-items: flex-end; gap: 12px; margin: 32px 0; }}
  .place {{ width: 200px; text-align: center; }}
  .place .who {{ font-weight: 600; margin: 0 0 2px; }}
  .place .score {{ color: #5b6475; margin: 0 0 6px; }}
  .block {{ display: flex; align-items: center; justify-content: center; font-size: 40px; font-weight: 700; color: #fff; border-radius: 6px 6px 0 0; }}
  .place-1 .block {{ background: #d4af37; height: 180px; }}
  .place-2 .block {{ background: #a8b0b8; height: 130px; }}
  .place-3 .block {{ background: #cd7f32; height: 90px; }}
  .empty .block {{ background: #e3e6ee; height: 40px; }}
  .board table {{ width: 100%; border-collapse: collapse; background: #fff; border-radius: 8px; }}
  .board th, .board td {{ padding: 8px 12px; border-bottom: 1px solid #e3e6ee; text-align: left; }}
  .num {{ text-align: right !important; }}
  .notice {{ background: #fff; border-radius: 8px; padding: 16px; }}
  footer {{ color: #5b6475; font-size: 13px; margin-top: 16px; }}
</style>
</head>
<body>
<main>
<h1>{name}</h1>
<p class="meta">{period} · {status}</p>
<div class="rules">{rules}</div>
{results}
<footer>{updated}</footer>
</main>
</body>
</html>
"#,
        name = escape(&page.challenge_name),
        period = escape(&page.period),
        status = escape(&page.status_line),
        rules = escape(&page.rules_text),
        updated = escape(&page.updated),
    )
}

/// The page of a link that no longer (or never did) open anything.
pub fn render_unavailable(detail: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Link unavailable</title>
<style>body {{ font-family: system-ui, sans-serif; color: #1d2433; background: #f6f7fb; }}
main {{ max-width: 560px; margin: 80px auto; background: #fff; border-radius: 8px; padding: 24px; }}</style>
</head>
<body><main><h1>This page is not available</h1><p>{}.</p></main></body>
</html>
"#,
        escape(detail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rank: Option<u32>, name: &str) -> Row {
        Row {
            rank,
            name: name.into(),
            score: "10".into(),
        }
    }

    #[test]
    fn initials_keep_first_letters() {
        assert_eq!(initials("Julie Moreau"), "J. M.");
        assert_eq!(initials("  émile   zola "), "É. Z.");
        assert_eq!(initials("Acme"), "A.");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn the_podium_groups_ties_and_stops_at_third() {
        let rows = vec![
            row(Some(1), "A"),
            row(Some(2), "B"),
            row(Some(2), "C"),
            row(Some(4), "D"),
            row(None, "E"),
        ];
        let podium = podium_of(&rows, true);
        assert_eq!(podium.len(), 2);
        assert_eq!(podium[1].names, vec!["B".to_owned(), "C".to_owned()]);
        assert_eq!(podium[1].step, 2);
        // A tie for first: two on gold, the third on bronze, silver empty.
        let tie = [row(Some(1), "A"), row(Some(1), "B"), row(Some(3), "C")];
        let podium = podium_of(&tie, true);
        assert_eq!(
            podium.iter().map(|p| p.step).collect::<Vec<_>>(),
            vec![1, 3]
        );
        // A region's part of the table: its three best places, whatever their ranks.
        let region = [
            row(Some(2), "A"),
            row(Some(5), "B"),
            row(Some(9), "C"),
            row(Some(12), "D"),
        ];
        let podium = podium_of(&region, false);
        assert_eq!(
            podium.iter().map(|p| (p.step, p.rank)).collect::<Vec<_>>(),
            vec![(1, 2), (2, 5), (3, 9)]
        );
    }

    #[test]
    fn every_text_is_escaped() {
        let page = PublicPage {
            challenge_name: "<script>alert(1)</script>".into(),
            rules_text: "a & b".into(),
            period: "p".into(),
            status_line: "s".into(),
            refresh_seconds: Some(60),
            show_results: true,
            podium: podium_of(&[row(Some(1), "<b>x</b>")], true),
            leaderboard: vec![row(Some(1), "<b>x</b>")],
            updated: "u".into(),
        };
        let html = render(&page);
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>x</b>"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(html.contains("a &amp; b"));
        assert!(html.contains(r#"http-equiv="refresh" content="60""#));
    }
}
