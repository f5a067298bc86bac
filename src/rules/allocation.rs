//! Allocation rules: `fn allocate(standings, rewards, ctx)`, called once when a challenge
//! closes, returning the awards.
//!
//! `standings` is an array of maps (one per line, in display order), `rewards` an array of
//! maps (the rewards the challenge may give). The script returns an array of maps, each
//! `#{participant, reward, quantity, value, note}`; every award is checked against the
//! inputs, and one bad award refuses them all.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rhai::{Array, Dynamic, Map, AST};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::engine::{Limits, Sandbox, ScriptError};
use super::objective::{ChallengeContext, Context};

/// One standings line as an allocation rule sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"participant": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "name": "Julie Moreau", "rank": 1, "score": 1000000.0, "raw_value": 1250000.0, "qualified": true}))]
/// Scores reach allocation scripts as Rhai numbers (the exact value of the frozen line,
/// converted once); what decides a rank was already decided on the exact value.
pub struct StandingInput {
    /// The entrant's id (a participant, team, region or organisation).
    pub participant: String,
    #[serde(default)]
    pub name: String,
    /// `null` when not ranked.
    #[serde(default)]
    pub rank: Option<i64>,
    #[serde(default)]
    pub score: Option<f64>,
    #[serde(default)]
    pub raw_value: Option<f64>,
    #[serde(default)]
    pub qualified: bool,
}

/// One reward an allocation rule may give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "coffee-machine", "name": "Espresso machine", "kind": "gift", "value": 45000, "stock": 3}))]
pub struct RewardInput {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `gift`, `voucher`, `free_goods`, `payment_terms`, `discount`, `premium`…
    #[serde(default)]
    pub kind: String,
    /// Value of one unit, in minor units.
    #[serde(default)]
    pub value: i64,
    /// Units left; `null` for unlimited.
    #[serde(default)]
    pub stock: Option<i64>,
}

/// One award an allocation rule gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"participant": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "reward": "coffee-machine", "quantity": 1, "value": 45000, "note": "1st place"}))]
pub struct Award {
    pub participant: String,
    pub reward: String,
    /// At least 1.
    pub quantity: i64,
    /// In minor units; the reward's value × quantity when the rule gives none.
    pub value: i64,
    pub note: String,
}

/// Calls `allocate` once and checks every award against the inputs.
pub fn evaluate(
    sandbox: &Sandbox,
    ast: &AST,
    limits: &Limits,
    challenge: &Arc<ChallengeContext>,
    standings: &[StandingInput],
    rewards: &[RewardInput],
) -> Result<Vec<Award>, ScriptError> {
    let inputs = |e: Box<rhai::EvalAltResult>| ScriptError::general(format!("inputs: {e}"));
    let standings_value = rhai::serde::to_dynamic(standings).map_err(inputs)?;
    let rewards_value = rhai::serde::to_dynamic(rewards).map_err(inputs)?;
    let ctx = Context {
        challenge: Arc::clone(challenge),
        baseline: Default::default(),
    };
    let options = || {
        rhai::CallFnOptions::new()
            .eval_ast(false)
            .rewind_scope(true)
    };
    let result: Dynamic = sandbox.run_located(limits.allocation_timeout, limits, |engine| {
        engine.call_fn_with_options(
            options(),
            &mut rhai::Scope::new(),
            ast,
            "allocate",
            (standings_value.clone(), rewards_value.clone(), ctx.clone()),
        )
    })?;
    read_awards(result, standings, rewards)
}

fn award_error(index: usize, message: impl std::fmt::Display) -> ScriptError {
    ScriptError::general(format!("award {index}: {message}"))
}

/// Reads and checks the awards: known participant and reward, positive quantity,
/// non-negative value, and no more units of a reward than its stock.
pub fn read_awards(
    value: Dynamic,
    standings: &[StandingInput],
    rewards: &[RewardInput],
) -> Result<Vec<Award>, ScriptError> {
    let Some(items) = value.clone().try_cast::<Array>() else {
        return Err(ScriptError::general(format!(
            "allocate must return an array of awards, not {}",
            value.type_name()
        )));
    };
    let participants: BTreeSet<&str> = standings.iter().map(|s| s.participant.as_str()).collect();
    let catalogue: BTreeMap<&str, &RewardInput> =
        rewards.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut used: BTreeMap<&str, i64> = BTreeMap::new();
    let mut awards = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let Some(map) = item.clone().try_cast::<Map>() else {
            return Err(award_error(
                index,
                format!("must be a map, not {}", item.type_name()),
            ));
        };
        if let Some(key) = map
            .keys()
            .find(|k| !["participant", "reward", "quantity", "value", "note"].contains(&k.as_str()))
        {
            return Err(award_error(
                index,
                format!(
                    "unknown entry `{key}` (expected participant, reward, quantity, value, note)"
                ),
            ));
        }
        let text = |key: &str| -> Result<String, ScriptError> {
            match map.get(key) {
                Some(v) if v.is_string() => Ok(v.clone().into_string().unwrap_or_default()),
                Some(v) => Err(award_error(
                    index,
                    format!("{key} must be a string, not {}", v.type_name()),
                )),
                None => Err(award_error(index, format!("{key} is missing"))),
            }
        };
        let participant = text("participant")?;
        if !participants.contains(participant.as_str()) {
            return Err(award_error(
                index,
                format!("participant {participant} is not in the standings"),
            ));
        }
        let reward_id = text("reward")?;
        let Some((reward_key, reward)) = catalogue.get_key_value(reward_id.as_str()) else {
            return Err(award_error(index, format!("unknown reward {reward_id}")));
        };
        let quantity = match map.get("quantity") {
            None => 1,
            Some(v) => v
                .as_int()
                .map_err(|t| award_error(index, format!("quantity must be an integer, not {t}")))?,
        };
        if !(1..=crate::rewards::plan::MAX_QUANTITY).contains(&quantity) {
            return Err(award_error(
                index,
                format!("quantity must be 1 to 1,000,000, not {quantity}"),
            ));
        }
        let value = match map.get("value") {
            None => reward.value.saturating_mul(quantity),
            Some(v) => v.as_int().map_err(|t| {
                award_error(
                    index,
                    format!("value must be an integer (minor units), not {t}"),
                )
            })?,
        };
        if value < 0 {
            return Err(award_error(
                index,
                format!("value must not be negative, not {value}"),
            ));
        }
        let note = match map.get("note") {
            None => String::new(),
            Some(v) if v.is_unit() => String::new(),
            Some(_) => text("note")?,
        };
        let total = used.entry(reward_key).or_default();
        *total = total.saturating_add(quantity);
        if let Some(stock) = reward.stock {
            if *total > stock {
                return Err(award_error(
                    index,
                    format!("reward {reward_id} has {stock} in stock; the awards ask for {total}"),
                ));
            }
        }
        awards.push(Award {
            participant,
            reward: reward_id,
            quantity,
            value,
            note,
        });
    }
    Ok(awards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Map;

    fn award(entries: &[(&str, Dynamic)]) -> Dynamic {
        let map: Map = entries
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect();
        Dynamic::from_array(vec![Dynamic::from_map(map)])
    }

    fn inputs() -> (Vec<StandingInput>, Vec<RewardInput>) {
        (
            vec![StandingInput {
                participant: "p1".into(),
                name: String::new(),
                rank: Some(1),
                score: None,
                raw_value: None,
                qualified: true,
            }],
            vec![RewardInput {
                id: "mug".into(),
                name: "Mug".into(),
                kind: "gift".into(),
                value: 900,
                stock: Some(2),
            }],
        )
    }

    #[test]
    fn invalid_awards_are_refused_with_the_reason() {
        let (standings, rewards) = inputs();
        let p1 = ("participant", Dynamic::from("p1"));
        let mug = ("reward", Dynamic::from("mug"));
        let cases = [
            (
                award(&[p1.clone(), mug.clone(), ("quantity", Dynamic::from_int(-1))]),
                "1 to 1,000,000",
            ),
            (
                award(&[p1.clone(), mug.clone(), ("value", Dynamic::from_int(-5))]),
                "negative",
            ),
            (
                award(&[p1.clone(), ("reward", Dynamic::from("car"))]),
                "unknown reward",
            ),
            (
                award(&[("participant", Dynamic::from("p9")), mug.clone()]),
                "not in the standings",
            ),
            (
                award(&[p1.clone(), mug.clone(), ("quantity", Dynamic::from_int(3))]),
                "stock",
            ),
            (
                award(&[p1.clone(), mug.clone(), ("bonus", Dynamic::from_int(1))]),
                "unknown entry",
            ),
            (Dynamic::from_int(1), "array"),
        ];
        for (value, expected) in cases {
            let error = read_awards(value, &standings, &rewards).expect_err(expected);
            assert!(error.message.contains(expected), "{expected}: {error:?}");
        }
        let given = read_awards(award(&[p1, mug]), &standings, &rewards).expect("valid");
        assert_eq!(given[0].value, 900);
        assert_eq!(given[0].quantity, 1);
    }
}
