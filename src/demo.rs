//! Data sets: `podium demo` loads a small, realistic one so a new user sees real standings
//! in a minute; `podium generate` makes a large one for the benchmarks (participants in
//! the database, sale lines as JSON batch files to send through the API).
//!
//! Both are deterministic: the same command gives the same data.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{Duration, NaiveDateTime};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};
use crate::auth::{secrets, Role};
use crate::challenges::definition::{Audience, Definition, ParticipantKind, RankingUnit};
use crate::db::{bulk_insert, DbConnection};
use crate::error::AppError;
use crate::models::challenge::{self, ChallengeRow};
use crate::models::customer::{self, CustomerRow};
use crate::models::organisation::{self, OrganisationRow};
use crate::models::participant::ParticipantRow;
use crate::models::product::{self, ProductRow};
use crate::models::region::{self, RegionRow};
use crate::models::reward::{self as reward, RewardRow};
use crate::models::sale::{self, SaleRow, COMPANY_OWNER};
use crate::models::team::{self, TeamRow};
use crate::models::{now, user, ListParams};
use crate::rewards::plan::{PlannedReward, RankReward, RewardPlan};
use crate::rewards::RewardKind;
use crate::schema::participants;
use crate::scoring::{Exact, Fairness, Objective, Target, Threshold, ThresholdBasis, TieBreak};

/// The password of the demo's people, printed by `podium demo`.
pub const DEMO_PASSWORD: &str = "podium-demo-2026";

/// A small deterministic pseudo-random source (PCG-style LCG): data sets must not
/// change from one run to the next.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn id() -> String {
    Uuid::new_v4().to_string()
}

/// The oldest admin, who owns the challenges a data set creates.
fn first_admin_id(conn: &mut DbConnection) -> Result<String, AppError> {
    let admins = user::UserFilter {
        role: Some(Role::Admin),
        ..Default::default()
    };
    user::list(conn, &admins, 1, 0)?
        .0
        .into_iter()
        .next()
        .map(|u| u.id)
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("there is no admin to own the challenges"))
        })
}

/// What `podium demo` created, to print.
pub struct DemoSummary {
    pub people: Vec<(String, &'static str)>,
    pub sales: usize,
    pub challenges: Vec<String>,
}

/// Loads the demo data set; refuses when the database already holds organisations.
pub fn load_demo(conn: &mut DbConnection) -> Result<DemoSummary, AppError> {
    let params = ListParams {
        limit: 1,
        ..ListParams::default()
    };
    if organisation::list(conn, None, None, &params)?.1 > 0 {
        return Err(AppError::conflict(
            "not_empty",
            "the database already holds data; the demo loads into an empty one",
        ));
    }
    audit::write(conn, &Actor::system(), Action::DemoLoaded, |conn, entry| {
        entry.object("demo");
        let created = now();
        let today = created;
        let company = organisation::insert(
            conn,
            &OrganisationRow {
                id: id(),
                name: "Cafés Martin".into(),
                kind: "company".into(),
                created_at: created,
            },
        )?;
        let distributor = organisation::insert(
            conn,
            &OrganisationRow {
                id: id(),
                name: "Dupont Distribution".into(),
                kind: "distributor".into(),
                created_at: created,
            },
        )?;

        let region_specs = [
            // Potential index and market share in ten-thousandths (1.35, 42 %).
            ("Île-de-France", 13_500, 4_200),
            ("Auvergne-Rhône-Alpes", 10_500, 3_000),
            ("Bretagne", 8_500, 1_800),
            ("Occitanie", 9_200, 2_200),
        ];
        let mut regions = Vec::new();
        for (name, potential_index_e4, market_share_e4) in region_specs {
            regions.push(region::insert(
                conn,
                &RegionRow {
                    id: id(),
                    name: name.into(),
                    potential_index_e4,
                    market_share_e4,
                    manager_id: None,
                    created_at: created,
                },
            )?);
        }
        let paris = team::insert(
            conn,
            &TeamRow {
                id: id(),
                name: "Paris Nord".into(),
                organisation_id: company.id.clone(),
                region_id: Some(regions[0].id.clone()),
                created_at: created,
            },
        )?;
        let south = team::insert(
            conn,
            &TeamRow {
                id: id(),
                name: "Grand Sud".into(),
                organisation_id: company.id.clone(),
                region_id: Some(regions[3].id.clone()),
                created_at: created,
            },
        )?;

        let reps = [
            ("Julie Moreau", 0, Some(&paris)),
            ("Karim Benali", 0, Some(&paris)),
            ("Sophie Laurent", 1, None),
            ("Thomas Girard", 1, None),
            ("Maël Le Gall", 2, None),
            ("Nina Rousseau", 3, Some(&south)),
            ("Hugo Fabre", 3, Some(&south)),
        ];
        let mut participants = Vec::new();
        for (name, region, team) in reps {
            participants.push(ParticipantRow {
                id: id(),
                name: name.into(),
                kind: ParticipantKind::Rep.as_str().into(),
                organisation_id: company.id.clone(),
                region_id: Some(regions[region].id.clone()),
                team_id: team.map(|t| t.id.clone()),
                created_at: created,
            });
        }
        for (name, region) in [("Dupont — Lyon", 1), ("Dupont — Rennes", 2)] {
            participants.push(ParticipantRow {
                id: id(),
                name: name.into(),
                kind: ParticipantKind::Rep.as_str().into(),
                organisation_id: distributor.id.clone(),
                region_id: Some(regions[region].id.clone()),
                team_id: None,
                created_at: created,
            });
        }
        bulk_insert!(&mut *conn, participants::table, &participants, 500)?;

        let products = [
            ("ESP-200", "Espresso machine 200", "machines"),
            ("GRD-10", "Coffee grinder 10", "machines"),
            ("CAP-ARABICA", "Arabica capsules ×100", "capsules"),
            ("CAP-DECA", "Decaf capsules ×100", "capsules"),
        ]
        .into_iter()
        .map(|(sku, name, category)| {
            product::insert(
                conn,
                &ProductRow {
                    id: id(),
                    sku: sku.into(),
                    name: name.into(),
                    category: category.into(),
                    created_at: created,
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
        let mut customers = Vec::new();
        for n in 1..=24 {
            customers.push(customer::insert(
                conn,
                &CustomerRow {
                    id: id(),
                    reference: format!("C-{n:03}"),
                    name: format!("Customer {n:03}"),
                    key_account: n % 5 == 0,
                    created_at: created,
                },
            )?);
        }

        // A year of sales: the baseline (a year ago) and the current period, with some
        // returns. Richer regions sell more in raw value.
        let mut dice = Dice(2026);
        let mut lines = Vec::new();
        let period_start = today - Duration::days(60);
        for (index, p) in participants.iter().enumerate() {
            let region_index = regions
                .iter()
                .position(|r| Some(&r.id) == p.region_id.as_ref())
                .unwrap_or(0);
            let wealth_e4 = regions[region_index].potential_index_e4;
            for n in 0..60 {
                let in_baseline = n % 2 == 0;
                let base = if in_baseline {
                    period_start - Duration::days(365)
                } else {
                    period_start
                };
                let sold_at = base + Duration::hours(dice.below(60 * 24) as i64);
                if sold_at > today {
                    continue;
                }
                let product = &products[dice.below(products.len() as u64) as usize];
                let quantity = dice.below(6) as i64 + 1;
                let unit_price = if product.category == "machines" {
                    42_000
                } else {
                    3_900
                };
                // Richer sectors sell more: price × potential × 70–129 %, in whole cents.
                let spread = 70 + dice.below(60) as i64;
                let amount = quantity * unit_price * wealth_e4 * spread / 1_000_000;
                let customer = &customers[(index * 3 + dice.below(8) as usize) % customers.len()];
                lines.push(SaleRow {
                    id: id(),
                    participant_id: p.id.clone(),
                    customer_id: Some(customer.id.clone()),
                    product_id: Some(product.id.clone()),
                    sold_at,
                    quantity,
                    amount_cents: amount,
                    currency: "EUR".into(),
                    owner: if p.organisation_id == company.id {
                        COMPANY_OWNER.into()
                    } else {
                        distributor.id.clone()
                    },
                    source: "demo".into(),
                    external_id: format!("{}-{n}", index),
                    reverses_id: None,
                    recorded_by: "demo".into(),
                    recorded_at: created,
                });
            }
        }
        // A few returns of half an order.
        let originals: Vec<SaleRow> = lines.iter().step_by(37).cloned().collect();
        for (n, original) in originals.iter().enumerate() {
            lines.push(SaleRow {
                id: id(),
                quantity: 0,
                amount_cents: -(original.amount_cents / 2),
                external_id: format!("return-{n}"),
                reverses_id: Some(original.id.clone()),
                ..original.clone()
            });
        }
        sale::record(conn, &lines)?;

        let mut people = Vec::new();
        let hash = secrets::hash(DEMO_PASSWORD)?;
        let demo_users = [
            (
                "manager.idf@podium.local",
                "Claire Martin",
                Role::Manager,
                Some(&regions[0].id),
                None,
                None,
            ),
            (
                "julie.moreau@podium.local",
                "Julie Moreau",
                Role::Participant,
                None,
                Some(&participants[0].id),
                None,
            ),
            (
                "partner@dupont.example",
                "Dupont integration",
                Role::Partner,
                None,
                None,
                Some(&distributor.id),
            ),
        ];
        for (email, name, role, region_id, participant_id, organisation_id) in demo_users {
            user::insert(
                conn,
                &user::NewUser {
                    id: id(),
                    email: email.into(),
                    display_name: name.into(),
                    password_hash: hash.clone(),
                    role: role.as_str().into(),
                    region_id: region_id.cloned(),
                    participant_id: participant_id.cloned(),
                    organisation_id: organisation_id.cloned(),
                    active: true,
                    created_at: created,
                },
            )?;
            people.push((email.to_owned(), role.as_str()));
        }

        let admin_id = first_admin_id(conn)?;
        let rewards = demo_rewards(conn, &products[2].id, today)?;
        let challenges = demo_challenges(conn, &admin_id, today, period_start, &rewards)?;
        Ok(DemoSummary {
            people,
            sales: lines.len(),
            challenges,
        })
    })
}

/// The demo's reward catalogue, by name.
struct DemoRewards {
    machine: Uuid,
    weekend: Uuid,
    headphones: Uuid,
    mug: Uuid,
    voucher: Uuid,
    capsules: Uuid,
}

fn demo_rewards(
    conn: &mut DbConnection,
    capsules_product: &str,
    today: NaiveDateTime,
) -> Result<DemoRewards, AppError> {
    let capsules_product = crate::models::parse_id(capsules_product)?;
    let specs = [
        (
            "Bean-to-cup espresso machine",
            "classic",
            RewardKind::Gift {},
            89_000,
            Some(2),
        ),
        (
            "A weekend in Lisbon for two",
            "surprising",
            RewardKind::Gift {},
            120_000,
            Some(1),
        ),
        (
            "Noise-cancelling headphones",
            "trendy",
            RewardKind::Gift {},
            35_000,
            Some(3),
        ),
        ("Podium mug", "goodie", RewardKind::Gift {}, 900, None),
        (
            "Gift voucher 100 EUR",
            "classic",
            RewardKind::Voucher {
                provider: "Fnac".into(),
            },
            10_000,
            Some(20),
        ),
        (
            "12 boxes of Arabica capsules",
            "trade",
            RewardKind::FreeGoods {
                product_id: capsules_product,
                quantity: 12,
            },
            14_400,
            None,
        ),
    ];
    let mut ids = Vec::new();
    for (name, category, kind, value_cents, stock) in specs {
        let row = reward::insert(
            conn,
            &RewardRow {
                id: id(),
                name: name.into(),
                description: String::new(),
                category: category.into(),
                kind: kind.name().into(),
                kind_details: serde_json::to_string(&kind).map_err(AppError::internal)?,
                value_cents,
                currency: "EUR".into(),
                stock,
                created_at: today,
                updated_at: today,
            },
        )?;
        ids.push(crate::models::parse_id(&row.id)?);
    }
    Ok(DemoRewards {
        machine: ids[0],
        weekend: ids[1],
        headphones: ids[2],
        mug: ids[3],
        voucher: ids[4],
        capsules: ids[5],
    })
}

fn podium(first: Uuid, second: Uuid, third: Uuid, everyone: Option<Uuid>) -> RewardPlan {
    RewardPlan {
        by_rank: [first, second, third]
            .into_iter()
            .zip(1..)
            .map(|(reward_id, rank)| RankReward {
                rank,
                reward_id,
                quantity: 1,
            })
            .collect(),
        everyone: everyone
            .map(|reward_id| PlannedReward {
                reward_id,
                quantity: 1,
            })
            .into_iter()
            .collect(),
        ..RewardPlan::default()
    }
}

fn demo_challenges(
    conn: &mut DbConnection,
    admin_id: &str,
    today: NaiveDateTime,
    period_start: NaiveDateTime,
    rewards: &DemoRewards,
) -> Result<Vec<String>, AppError> {
    let revenue = Definition {
        objective: Objective::Revenue {},
        fairness: Fairness {
            divide_by_potential: true,
            weight_growth_by_market_share: false,
        },
        threshold: Some(Threshold {
            basis: ThresholdBasis::Raw,
            minimum: Exact::from_int(500_000),
        }),
        tie_break: vec![TieBreak::HigherRawValue, TieBreak::FirstToReach],
        target: None,
        audience: Audience::default(),
        reward_plan: Some(podium(
            rewards.weekend,
            rewards.machine,
            rewards.headphones,
            Some(rewards.mug),
        )),
    };
    let sprint = Definition {
        objective: Objective::Units {},
        fairness: Fairness {
            divide_by_potential: true,
            weight_growth_by_market_share: false,
        },
        threshold: None,
        tie_break: vec![TieBreak::FirstToReach],
        target: None,
        audience: Audience::default(),
        reward_plan: Some(RewardPlan {
            qualified: vec![PlannedReward {
                reward_id: rewards.capsules,
                quantity: 1,
            }],
            ..podium(
                rewards.machine,
                rewards.voucher,
                rewards.voucher,
                Some(rewards.mug),
            )
        }),
    };
    let new_customers = Definition {
        objective: Objective::NewCustomers {},
        fairness: Fairness::default(),
        threshold: None,
        tie_break: Vec::new(),
        target: Some(Target::Absolute {
            value: Exact::from_int(3),
            per_entrant: Default::default(),
        }),
        audience: Audience::default(),
        reward_plan: Some(RewardPlan {
            qualified: vec![PlannedReward {
                reward_id: rewards.voucher,
                quantity: 1,
            }],
            ..RewardPlan::default()
        }),
    };
    let specs = [
        ("Spring revenue challenge", "competition", "Net revenue over the period, divided by your region's potential index (IRV) so that every sector has its chance. At least 5,000 EUR to be ranked. Ties: higher raw revenue, then who got there first. A podium of three, and a thank-you for everyone above the threshold.", revenue),
        ("New-customer incentive", "incentive", "Win at least 3 new customers during the period (customers you had not sold to before). Everyone who does is rewarded.", new_customers),
        ("Winter units sprint", "competition", "Units sold over the period, divided by your region's potential index. First: an espresso machine; second and third: a 100 EUR voucher; a box of capsules for everyone who sold, and a mug for all. The period is over: close it, announce it, hand out the prizes.", sprint),
    ];
    let mut names = Vec::new();
    for (n, (name, kind, rules_text, definition)) in specs.into_iter().enumerate() {
        // The sprint's period is over (it can be closed at once); the others run on.
        let ends_at = if n == 2 {
            today - Duration::hours(1)
        } else {
            today + Duration::days(30)
        };
        let row = ChallengeRow {
            id: id(),
            name: name.into(),
            kind: kind.into(),
            status: "running".into(),
            rules_text: rules_text.into(),
            starts_at: period_start,
            ends_at,
            baseline_starts_at: None,
            baseline_ends_at: None,
            currency: "EUR".into(),
            ranking_unit: RankingUnit::Participant.as_str().into(),
            definition: serde_json::to_string(&definition).map_err(AppError::internal)?,
            standings_visible: true,
            created_by: admin_id.into(),
            created_at: today,
            updated_at: today,
            closed_at: None,
            announced_at: None,
        };
        challenge::insert(conn, &row)?;
        names.push(name.to_owned());
    }
    Ok(names)
}

/// What `podium generate` made.
pub struct Generated {
    pub participants: usize,
    pub sales: usize,
    pub files: usize,
    pub challenge_id: String,
}

/// Makes a large data set: `participants` reps over 20 regions in the database, a running
/// revenue challenge adjusted by potential, and `sales` lines over the last 90 days
/// written to `out` as JSON batches of `batch` lines, ready to POST to `/api/v1/sales`.
pub fn generate(
    conn: &mut DbConnection,
    participant_count: usize,
    sale_count: usize,
    batch: usize,
    out: &Path,
) -> Result<Generated, AppError> {
    std::fs::create_dir_all(out).map_err(AppError::internal)?;
    let created = now();
    let mut dice = Dice(7);
    let (participant_ids, challenge_id) =
        conn.write_transaction(|conn| -> Result<(Vec<String>, String), AppError> {
            let company = organisation::insert(
                conn,
                &OrganisationRow {
                    id: id(),
                    name: format!("Generated company {}", &id()[..8]),
                    kind: "company".into(),
                    created_at: created,
                },
            )?;
            let mut regions = Vec::new();
            for n in 0..20 {
                let potential_index_e4 = 6_000 + dice.below(100) as i64 * 100;
                let market_share_e4 = dice.below(60) as i64 * 100;
                regions.push(region::insert(
                    conn,
                    &RegionRow {
                        id: id(),
                        name: format!("Region {n:02} {}", &id()[..8]),
                        potential_index_e4,
                        market_share_e4,
                        manager_id: None,
                        created_at: created,
                    },
                )?);
            }
            let rows: Vec<ParticipantRow> = (0..participant_count)
                .map(|n| ParticipantRow {
                    id: id(),
                    name: format!("Rep {n:06}"),
                    kind: "rep".into(),
                    organisation_id: company.id.clone(),
                    region_id: Some(regions[n % regions.len()].id.clone()),
                    team_id: None,
                    created_at: created,
                })
                .collect();
            bulk_insert!(&mut *conn, participants::table, &rows, 1_000)?;
            crate::models::change::record(conn, &crate::models::change::Change::Everything)?;
            let admin_id = first_admin_id(conn)?;
            let definition = Definition {
                objective: Objective::Revenue {},
                fairness: Fairness {
                    divide_by_potential: true,
                    weight_growth_by_market_share: false,
                },
                threshold: None,
                tie_break: vec![TieBreak::FirstToReach],
                target: None,
                audience: Audience::default(),
                reward_plan: None,
            };
            let challenge = challenge::insert(
                conn,
                &ChallengeRow {
                    id: id(),
                    name: "Generated revenue challenge".into(),
                    kind: "competition".into(),
                    status: "running".into(),
                    rules_text: "Net revenue over 90 days, divided by potential.".into(),
                    starts_at: created - Duration::days(90),
                    ends_at: created + Duration::days(30),
                    baseline_starts_at: None,
                    baseline_ends_at: None,
                    currency: "EUR".into(),
                    ranking_unit: "participant".into(),
                    definition: serde_json::to_string(&definition).map_err(AppError::internal)?,
                    standings_visible: true,
                    created_by: admin_id,
                    created_at: created,
                    updated_at: created,
                    closed_at: None,
                    announced_at: None,
                },
            )?;
            Ok((rows.into_iter().map(|r| r.id).collect(), challenge.id))
        })?;

    if let DbConnection::Postgresql(_) = conn {
        // Fresh statistics after a bulk load, so the planner uses the indexes (autovacuum
        // may be off or not have run yet).
        diesel::connection::SimpleConnection::batch_execute(conn, "ANALYZE")
            .map_err(AppError::from)?;
    }
    let run = &id()[..8];
    let mut files = 0;
    let mut written = 0;
    while written < sale_count {
        let size = batch.min(sale_count - written);
        let mut body = String::with_capacity(size * 220);
        body.push_str("{\"sales\":[");
        for n in 0..size {
            if n > 0 {
                body.push(',');
            }
            let participant = &participant_ids[dice.below(participant_ids.len() as u64) as usize];
            let sold_at = created - Duration::minutes(dice.below(89 * 24 * 60) as i64 + 60);
            let quantity = dice.below(9) + 1;
            let amount = quantity * (1_000 + dice.below(90_000));
            let _ = write!(
                body,
                "{{\"participant_id\":\"{participant}\",\"sold_at\":\"{}Z\",\"quantity\":{quantity},\"amount_cents\":{amount},\"currency\":\"EUR\",\"source\":\"bench-{run}\",\"external_id\":\"{}\"}}",
                sold_at.format("%Y-%m-%dT%H:%M:%S"),
                written + n
            );
        }
        body.push_str("]}");
        std::fs::write(out.join(format!("batch-{files:05}.json")), body)
            .map_err(AppError::internal)?;
        files += 1;
        written += size;
    }
    Ok(Generated {
        participants: participant_ids.len(),
        sales: written,
        files,
        challenge_id,
    })
}
