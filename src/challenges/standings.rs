//! A challenge's standings computed from the database: the whole table ([`compute`]), or
//! the lines of a few entrants ([`compute_part`]) that [`super::engine`] puts back into a
//! live table when a change touches them. Both are the same code: the database's
//! per-participant sums (`models::sale::totals`), or a rule's score of each entrant's
//! lines, grouped by the ranking unit, then scored and ranked by [`crate::scoring`].
//! Frozen tables are read back from `standing_lines` once a challenge is closed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::definition::{Definition, RankingUnit};
use super::lifecycle::Status;
use crate::auth::{AuthUser, Scope};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::challenge::ChallengeRow;
use crate::models::participant::{self, ParticipantFilter, ParticipantRow};
use crate::models::{organisation, parse_id, region, sale, team};
use crate::rules::objective::ChallengeContext;
use crate::rules::runner::RuleFailure;
use crate::rules::RuleRunner;
use crate::scoring::{
    self, ChallengeKind, Entrant, Line, SaleFilter, ScoringRules, Sector, Window,
};

/// A challenge as the domain works with it, parsed from its row.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: Uuid,
    pub name: String,
    pub kind: ChallengeKind,
    pub status: Status,
    pub period: Window,
    pub baseline: Option<Window>,
    pub currency: String,
    pub unit: RankingUnit,
    pub definition: Definition,
    pub standings_visible: bool,
    /// When the challenge itself last changed (`updated_at`).
    pub revision: NaiveDateTime,
}

impl TryFrom<&ChallengeRow> for Challenge {
    type Error = AppError;

    fn try_from(row: &ChallengeRow) -> Result<Self, AppError> {
        let corrupt = |what: &str| {
            AppError::internal(anyhow::anyhow!(
                "challenge {} has an invalid {what}",
                row.id
            ))
        };
        let kind = ChallengeKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?;
        let baseline = match (row.baseline_starts_at, row.baseline_ends_at) {
            (Some(starts_at), Some(ends_at)) => Some(Window { starts_at, ends_at }),
            _ => None,
        };
        Ok(Self {
            id: parse_id(&row.id)?,
            name: row.name.clone(),
            kind,
            status: Status::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            period: Window {
                starts_at: row.starts_at,
                ends_at: row.ends_at,
            },
            baseline,
            currency: row.currency.clone(),
            unit: RankingUnit::parse(&row.ranking_unit).ok_or_else(|| corrupt("ranking unit"))?,
            definition: serde_json::from_str(&row.definition).map_err(|_| corrupt("definition"))?,
            standings_visible: row.standings_visible,
            revision: row.updated_at,
        })
    }
}

impl Challenge {
    pub fn scoring_rules(&self) -> ScoringRules {
        ScoringRules {
            kind: self.kind,
            objective: self.definition.objective.clone(),
            fairness: self.definition.fairness,
            threshold: self.definition.threshold,
            tie_break: self.definition.tie_break.clone(),
            target: self.definition.target.clone(),
        }
    }

    /// What a rule of this challenge gets as `ctx`: `params`, the period's days, the
    /// currency and the kind.
    pub fn rule_context(
        &self,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ChallengeContext, RuleFailure> {
        let day = |at: NaiveDateTime| at.format("%Y-%m-%d").to_string();
        ChallengeContext::new(
            &serde_json::Value::Object(params.clone()),
            &day(self.period.starts_at),
            &day(self.period.ends_at),
            &self.currency,
            self.kind.as_str(),
        )
        .map_err(|error| RuleFailure {
            entrant: None,
            error,
        })
    }

    /// Which sale lines count for `objective` (the challenge's own, or a simulation's):
    /// the currency, the audience's and the objective's products (both when both are set),
    /// and key accounts for key-account objectives.
    pub fn sale_filter_for(&self, objective: &scoring::Objective) -> SaleFilter {
        let audience = &self.definition.audience.product_ids;
        let products = match (audience.is_empty(), objective.products()) {
            (true, None) => None,
            (true, Some(objective)) => Some(objective.clone()),
            (false, None) => Some(audience.clone()),
            (false, Some(objective)) => Some(
                audience
                    .intersection(objective)
                    .copied()
                    .collect::<BTreeSet<_>>(),
            ),
        };
        SaleFilter {
            currency: self.currency.clone(),
            products,
            key_accounts_only: objective.key_accounts_only(),
            participants: None,
        }
    }

    /// The audience's participants; with `only`, those that make up these entrants (of
    /// the challenge's ranking unit). `None` when that is nobody.
    fn participant_filter_for(&self, only: Option<&BTreeSet<Uuid>>) -> Option<ParticipantFilter> {
        let mut filter = self.participant_filter();
        let Some(only) = only else {
            return Some(filter);
        };
        let only: Vec<Uuid> = only.iter().copied().collect();
        // An empty list means "no restriction": narrowing to nobody must say so.
        let narrow = |list: &mut Vec<Uuid>| {
            if list.is_empty() {
                list.clone_from(&only);
            } else {
                list.retain(|id| only.contains(id));
            }
            !list.is_empty()
        };
        let anyone = match self.unit {
            RankingUnit::Participant => narrow(&mut filter.ids),
            RankingUnit::Team => narrow(&mut filter.team_ids),
            RankingUnit::Region => narrow(&mut filter.region_ids),
            RankingUnit::Organisation => narrow(&mut filter.organisation_ids),
        };
        anyone.then_some(filter)
    }

    fn participant_filter(&self) -> ParticipantFilter {
        let audience = &self.definition.audience;
        ParticipantFilter {
            only: None,
            ids: Vec::new(),
            organisation_ids: audience.organisation_ids.iter().copied().collect(),
            region_ids: audience.region_ids.iter().copied().collect(),
            team_ids: audience.team_ids.iter().copied().collect(),
            kinds: audience
                .participant_kinds
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
        }
    }
}

/// One line of the standings with who it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntrantLine {
    pub entrant_name: String,
    pub unit: RankingUnit,
    /// The region the entrant belongs to (managers see their region's lines).
    pub region_id: Option<Uuid>,
    /// The organisation the entrant belongs to (partners see their organisation's lines).
    pub organisation_id: Option<Uuid>,
    pub line: Line,
}

impl EntrantLine {
    pub fn entrant_id(&self) -> Uuid {
        self.line.entrant_id
    }
}

impl scoring::ranking::Ranked for EntrantLine {
    fn line(&self) -> &Line {
        &self.line
    }
    fn line_mut(&mut self) -> &mut Line {
        &mut self.line
    }
}

/// A shared line is copied only when ranking changes it.
impl scoring::ranking::Ranked for Arc<EntrantLine> {
    fn line(&self) -> &Line {
        &self.line
    }
    fn line_mut(&mut self) -> &mut Line {
        &mut Arc::make_mut(self).line
    }
}

/// A computed standings table, in display order. Lines are shared: a live table that
/// changes keeps every line that did not, so the next table costs pointers, not copies.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub lines: Vec<Arc<EntrantLine>>,
    /// When it was computed (UTC).
    pub computed_at: Option<NaiveDateTime>,
}

pub(super) fn opt_id(value: &Option<String>) -> Result<Option<Uuid>, AppError> {
    value.as_deref().map(parse_id).transpose()
}

/// Who the entrants are: each one's description, and which participants it adds up.
pub(super) struct Entrants<'a> {
    pub infos: HashMap<Uuid, EntrantInfo>,
    pub members: Vec<(Uuid, &'a ParticipantRow)>,
}

/// Who an entrant is, before scoring.
pub(super) struct EntrantInfo {
    pub name: String,
    pub region_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub sector: Sector,
}

fn entrants<'a>(
    conn: &mut DbConnection,
    challenge: &Challenge,
    participants: &'a [ParticipantRow],
) -> Result<Entrants<'a>, AppError> {
    let regions: HashMap<String, region::RegionRow> = region::all(conn)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let sector_of = |region_id: &Option<String>| {
        region_id
            .as_ref()
            .and_then(|id| regions.get(id))
            .map_or(Sector::NEUTRAL, |r| Sector {
                potential_index: r.potential_index(),
                market_share: r.market_share(),
            })
    };
    let mut infos: HashMap<Uuid, EntrantInfo> = HashMap::new();
    let mut members: Vec<(Uuid, &ParticipantRow)> = Vec::with_capacity(participants.len());
    match challenge.unit {
        RankingUnit::Participant => {
            for p in participants {
                let id = parse_id(&p.id)?;
                infos.insert(
                    id,
                    EntrantInfo {
                        name: p.name.clone(),
                        region_id: opt_id(&p.region_id)?,
                        organisation_id: Some(parse_id(&p.organisation_id)?),
                        sector: sector_of(&p.region_id),
                    },
                );
                members.push((id, p));
            }
        }
        RankingUnit::Team => {
            let teams: HashMap<String, team::TeamRow> = team::all(conn)?
                .into_iter()
                .map(|t| (t.id.clone(), t))
                .collect();
            for p in participants {
                let Some(team) = p.team_id.as_ref().and_then(|id| teams.get(id)) else {
                    continue;
                };
                let id = parse_id(&team.id)?;
                if let std::collections::hash_map::Entry::Vacant(slot) = infos.entry(id) {
                    slot.insert(EntrantInfo {
                        name: team.name.clone(),
                        region_id: opt_id(&team.region_id)?,
                        organisation_id: Some(parse_id(&team.organisation_id)?),
                        sector: sector_of(&team.region_id),
                    });
                }
                members.push((id, p));
            }
        }
        RankingUnit::Region => {
            for p in participants {
                let Some(r) = p.region_id.as_ref().and_then(|id| regions.get(id)) else {
                    continue;
                };
                let id = parse_id(&r.id)?;
                infos.entry(id).or_insert_with(|| EntrantInfo {
                    name: r.name.clone(),
                    region_id: Some(id),
                    organisation_id: None,
                    sector: Sector {
                        potential_index: r.potential_index(),
                        market_share: r.market_share(),
                    },
                });
                members.push((id, p));
            }
        }
        RankingUnit::Organisation => {
            let names: HashMap<String, String> = organisation::all(conn)?
                .into_iter()
                .map(|o| (o.id, o.name))
                .collect();
            for p in participants {
                let id = parse_id(&p.organisation_id)?;
                infos.entry(id).or_insert_with(|| EntrantInfo {
                    name: names.get(&p.organisation_id).cloned().unwrap_or_default(),
                    region_id: None,
                    organisation_id: Some(id),
                    sector: Sector::NEUTRAL,
                });
                members.push((id, p));
            }
        }
    }
    Ok(Entrants { infos, members })
}

/// Computes the standings from scratch, from the database, with the challenge's own
/// rules: what [`super::engine`] keeps current, as a check and for a close.
pub fn compute(
    conn: &mut DbConnection,
    challenge: &Challenge,
    runner: &RuleRunner,
) -> Result<Table, AppError> {
    compute_with(conn, challenge, &challenge.scoring_rules(), runner)
}

/// Computes the standings of a challenge from scratch under `rules` (its own, or another
/// version or parameters for a simulation).
pub fn compute_with(
    conn: &mut DbConnection,
    challenge: &Challenge,
    rules: &ScoringRules,
    runner: &RuleRunner,
) -> Result<Table, AppError> {
    let part = compute_part(conn, challenge, rules, runner, None)?;
    Ok(Table {
        lines: part.lines.into_iter().map(Arc::new).collect(),
        computed_at: Some(crate::models::now()),
    })
}

/// The lines of some entrants and which participants each adds up.
#[derive(Debug, Default)]
pub struct Part {
    /// Scored, and ranked among themselves only.
    pub lines: Vec<EntrantLine>,
    /// (entrant, participant) pairs.
    pub members: Vec<(Uuid, Uuid)>,
}

/// Computes the lines of the entrants in `only` (of the challenge's ranking unit), or of
/// every entrant: the same sums and scoring as a whole table, restricted to the
/// entrants' own participants and their sales. An entrant of `only` without a line has
/// no member any more (or never had one in the audience).
///
/// A line depends on its entrant's sales and sector only, never on the other lines
/// (fairness adjusts by the entrant's own sector; targets are per entrant): that is what
/// makes recomputing a few entrants and ranking again equal to a whole computation.
pub fn compute_part(
    conn: &mut DbConnection,
    challenge: &Challenge,
    rules: &ScoringRules,
    runner: &RuleRunner,
    only: Option<&BTreeSet<Uuid>>,
) -> Result<Part, AppError> {
    let started = std::time::Instant::now();
    let Some(filter) = challenge.participant_filter_for(only) else {
        return Ok(Part::default());
    };
    let mut participants = Vec::new();
    // Long lists go in several queries (bound values are limited).
    if filter.ids.len() > crate::models::IN_LIST_CHUNK {
        for chunk in filter.ids.chunks(crate::models::IN_LIST_CHUNK) {
            let mut part = filter.clone();
            part.ids = chunk.to_vec();
            participants.extend(participant::all(conn, &part)?);
        }
    } else {
        participants = participant::all(conn, &filter)?;
    }
    let entrants = entrants(conn, challenge, &participants)?;
    let members = entrants
        .members
        .iter()
        .map(|(entrant, p)| Ok((*entrant, parse_id(&p.id)?)))
        .collect::<Result<Vec<_>, AppError>>()?;
    let sales_of: Option<BTreeSet<Uuid>> = only.map(|_| members.iter().map(|(_, p)| *p).collect());
    let loaded = started.elapsed();
    let lines = match rules.objective.script() {
        Some(_) => super::scripted::standings(
            conn,
            challenge,
            rules,
            &entrants,
            runner,
            sales_of.as_ref(),
        )?,
        None => builtin_standings(conn, challenge, rules, &entrants, sales_of)?,
    };
    let lines: Vec<EntrantLine> = lines
        .into_iter()
        .map(|line| with_entrant(line, challenge.unit, &entrants.infos))
        .collect();
    tracing::debug!(
        challenge = %challenge.id,
        entrants = lines.len(),
        whole = only.is_none(),
        participants_ms = loaded.as_millis(),
        total_ms = started.elapsed().as_millis(),
        "computed standings lines"
    );
    Ok(Part { lines, members })
}

/// Built-in objectives: the database's per-participant sums, added up per entrant.
fn builtin_standings(
    conn: &mut DbConnection,
    challenge: &Challenge,
    rules: &ScoringRules,
    entrants: &Entrants<'_>,
    sales_of: Option<BTreeSet<Uuid>>,
) -> Result<Vec<Line>, AppError> {
    // Customers won are counted only where something reads them: the objective or a
    // tie-break. Elsewhere they stay `None`, shown as null, never as a 0 not computed.
    let count_new_customers = matches!(rules.objective, scoring::Objective::NewCustomers {})
        || rules
            .tie_break
            .contains(&scoring::TieBreak::MoreNewCustomers);
    let mut filter = challenge.sale_filter_for(&rules.objective);
    filter.participants = sales_of;
    let sums = sale::totals(
        conn,
        &filter,
        challenge.period,
        challenge.baseline,
        count_new_customers,
    )?;
    let empty = scoring::Totals {
        new_customers: count_new_customers.then_some(0),
        ..scoring::Totals::default()
    };
    let mut totals: HashMap<Uuid, scoring::Totals> =
        entrants.infos.keys().map(|id| (*id, empty)).collect();
    for (entrant, p) in &entrants.members {
        if let Some(sum) = sums.get(&p.id) {
            let entry = totals.entry(*entrant).or_default();
            *entry = entry.merge(*sum);
        }
    }
    let list: Vec<Entrant> = totals
        .into_iter()
        .map(|(id, totals)| Entrant {
            id,
            totals,
            sector: entrants
                .infos
                .get(&id)
                .map_or(Sector::NEUTRAL, |i| i.sector),
        })
        .collect();
    Ok(scoring::standings(rules, &list))
}

fn with_entrant(line: Line, unit: RankingUnit, infos: &HashMap<Uuid, EntrantInfo>) -> EntrantLine {
    let info = infos.get(&line.entrant_id);
    EntrantLine {
        entrant_name: info.map(|i| i.name.clone()).unwrap_or_default(),
        unit,
        region_id: info.and_then(|i| i.region_id),
        organisation_id: info.and_then(|i| i.organisation_id),
        line,
    }
}

/// The lines of a standings table a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    All,
    Region(Uuid),
    Organisation(Uuid),
    /// One entrant's line only (a participant's own).
    Entrant(Uuid),
    Nothing,
}

impl View {
    pub fn shows(&self, line: &EntrantLine) -> bool {
        match *self {
            View::All => true,
            View::Region(id) => line.region_id == Some(id),
            View::Organisation(id) => line.organisation_id == Some(id),
            View::Entrant(id) => line.entrant_id() == id,
            View::Nothing => false,
        }
    }
}

/// What `caller` may see of a challenge's standings. A participant sees its own line
/// (its team's, region's or organisation's for other units), and every line when the
/// challenge makes standings visible; managers their region's lines; partners their
/// organisation's.
pub fn view_for(
    conn: &mut DbConnection,
    caller: &AuthUser,
    challenge: &Challenge,
) -> Result<View, AppError> {
    Ok(match caller.scope {
        Scope::Everything => View::All,
        Scope::Region(id) => View::Region(id),
        Scope::Organisation(id) => View::Organisation(id),
        Scope::Participant(_) if challenge.standings_visible => View::All,
        Scope::Participant(id) => {
            let Some(p) = participant::find(conn, id)? else {
                return Ok(View::Nothing);
            };
            let own = match challenge.unit {
                RankingUnit::Participant => Some(id),
                RankingUnit::Team => opt_id(&p.team_id)?,
                RankingUnit::Region => opt_id(&p.region_id)?,
                RankingUnit::Organisation => Some(parse_id(&p.organisation_id)?),
            };
            own.map_or(View::Nothing, View::Entrant)
        }
    })
}
