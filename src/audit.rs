//! The audit log: who changed what, when, from which request.
//!
//! Every write by a signed-in caller (admin, manager, partner, participant or API client)
//! goes through [`write`]: it runs the use case in one write transaction and inserts the
//! audit entry in that same transaction, after the use case succeeded. So an entry exists
//! if and only if its write committed: a refused or rolled-back write leaves none, and no
//! write (a rule version, a close, an award change, a user or API client change, nothing
//! else either) can commit without its entry. A use case that already runs in a
//! transaction of its own becomes a savepoint of this one.
//!
//! Decisions:
//! - An entry says who (the actor's kind, id and role, and the request id of the access
//!   log), what (an [`Action`], which also names the kind of object), the object's id, and
//!   a digest of the object's state before and after. Digests, not copies: the log proves
//!   that a state was the one recorded without holding names, e-mails or amounts, so
//!   erasing a person never has to rewrite the log, and the log leaks nothing the
//!   objects' own access rules would not show.
//! - A digest is SHA-256 over the JSON of the stored row (fields in declaration order),
//!   written `sha256:` + 64 hex digits: recompute it from a backup to check a state.
//! - The log is append-only in the database itself: triggers refuse every `UPDATE` and
//!   `DELETE` (and `TRUNCATE` on PostgreSQL), whoever sends them. Nothing prunes it.
//! - Entries are not chained by hash. A chain would make every audited write on
//!   PostgreSQL wait for the previous one to commit (the next hash needs the last one),
//!   which the sales ingestion of several partners at once should not pay; the triggers
//!   and the database's own access control are the guard.
//! - Reads (and the rule test and simulation, which write nothing) are not audited; the
//!   access log has them, under the same request id.

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{AuthUser, PrincipalKind, Role};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::audit::{self as rows, NewAuditEvent};
use crate::models::now;

/// Who made a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The user's or API client's id; `None` for the server itself.
    pub id: Option<Uuid>,
    pub role: Option<Role>,
    /// The request id of the access log (`X-Request-Id`), when the write came from a request.
    pub request_id: Option<String>,
}

impl Actor {
    /// The signed-in caller of a request.
    pub fn of(caller: &AuthUser) -> Self {
        Self::account(
            caller.kind,
            caller.id,
            caller.role,
            caller.request_id.clone(),
        )
    }

    /// An account acting through a request (a sign-in, before there is a caller).
    pub fn account(kind: PrincipalKind, id: Uuid, role: Role, request_id: Option<String>) -> Self {
        Self {
            kind: match kind {
                PrincipalKind::User => ActorKind::User,
                PrincipalKind::ApiClient => ActorKind::ApiClient,
            },
            id: Some(id),
            role: Some(role),
            request_id,
        }
    }

    /// The server itself (the first admin at first start, the demo loader).
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            role: None,
            request_id: None,
        }
    }
}

/// What kind of actor made a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = AuditActorKind)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    ApiClient,
    /// The server itself: the first admin created at first start, the demo data.
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiClient => "api_client",
            ActorKind::System => "system",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::User, Self::ApiClient, Self::System]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// Declares the actions and the kind of object each one writes, once.
macro_rules! actions {
    ($($variant:ident => $name:tt on $object:ident,)+) => {
        /// What a write did. The name is `<object type>.<what happened>`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
        #[schema(as = AuditAction)]
        pub enum Action {
            $(#[serde(rename = $name)] $variant,)+
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $name,)+ }
            }

            /// The kind of object the action writes.
            pub fn object_type(self) -> ObjectType {
                match self { $(Action::$variant => ObjectType::$object,)+ }
            }
        }
    };
}

actions! {
    ApiClientCreated => "api_client.created" on ApiClient,
    ApiClientDisabled => "api_client.disabled" on ApiClient,
    AwardFulfilled => "award.fulfilled" on Award,
    AwardCancelled => "award.cancelled" on Award,
    ChallengeCreated => "challenge.created" on Challenge,
    ChallengeReplaced => "challenge.replaced" on Challenge,
    ChallengeScheduled => "challenge.scheduled" on Challenge,
    ChallengeStarted => "challenge.started" on Challenge,
    ChallengeClosed => "challenge.closed" on Challenge,
    ChallengeAnnounced => "challenge.announced" on Challenge,
    ChallengeRuleVersionChanged => "challenge.rule_version_changed" on Challenge,
    CustomerCreated => "customer.created" on Customer,
    CustomerUpdated => "customer.updated" on Customer,
    DemoLoaded => "installation.demo_loaded" on Installation,
    OrganisationCreated => "organisation.created" on Organisation,
    OrganisationUpdated => "organisation.updated" on Organisation,
    ParticipantCreated => "participant.created" on Participant,
    ParticipantUpdated => "participant.updated" on Participant,
    ProductCreated => "product.created" on Product,
    RegionCreated => "region.created" on Region,
    RegionUpdated => "region.updated" on Region,
    RewardCreated => "reward.created" on Reward,
    RewardReplaced => "reward.replaced" on Reward,
    RuleCreated => "rule.created" on Rule,
    RuleVersionUploaded => "rule.version_uploaded" on Rule,
    SalesRecorded => "sales.recorded" on Sales,
    SessionOpened => "session.opened" on Session,
    SessionRefreshed => "session.refreshed" on Session,
    SessionClosed => "session.closed" on Session,
    SessionsClosedEverywhere => "session.closed_everywhere" on Session,
    SessionRevoked => "session.revoked" on Session,
    ShareLinkCreated => "share_link.created" on ShareLink,
    ShareLinkRevoked => "share_link.revoked" on ShareLink,
    TeamCreated => "team.created" on Team,
    UserCreated => "user.created" on User,
    UserDisabled => "user.disabled" on User,
    UserEnabled => "user.enabled" on User,
    WebhookCreated => "webhook.created" on Webhook,
    WebhookUpdated => "webhook.updated" on Webhook,
    WebhookDeliveryReplayed => "webhook_delivery.replayed" on WebhookDelivery,
}

impl Action {
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == value)
    }
}

/// The kinds of object a write can touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[schema(as = AuditObjectType)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    ApiClient,
    Award,
    Challenge,
    Customer,
    /// The whole installation (the demo data).
    Installation,
    Organisation,
    Participant,
    Product,
    Region,
    Reward,
    Rule,
    /// The sale lines of one key namespace (`company`, `region:<id>` or an organisation's
    /// id); one entry per batch that wrote lines.
    Sales,
    Session,
    ShareLink,
    Team,
    User,
    Webhook,
    WebhookDelivery,
}

impl ObjectType {
    pub const ALL: &'static [ObjectType] = &[
        Self::ApiClient,
        Self::Award,
        Self::Challenge,
        Self::Customer,
        Self::Installation,
        Self::Organisation,
        Self::Participant,
        Self::Product,
        Self::Region,
        Self::Reward,
        Self::Rule,
        Self::Sales,
        Self::Session,
        Self::ShareLink,
        Self::Team,
        Self::User,
        Self::Webhook,
        Self::WebhookDelivery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiClient => "api_client",
            Self::Award => "award",
            Self::Challenge => "challenge",
            Self::Customer => "customer",
            Self::Installation => "installation",
            Self::Organisation => "organisation",
            Self::Participant => "participant",
            Self::Product => "product",
            Self::Region => "region",
            Self::Reward => "reward",
            Self::Rule => "rule",
            Self::Sales => "sales",
            Self::Session => "session",
            Self::ShareLink => "share_link",
            Self::Team => "team",
            Self::User => "user",
            Self::Webhook => "webhook",
            Self::WebhookDelivery => "webhook_delivery",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == value)
    }
}

/// A digest of an object's state: `sha256:` and 64 hex digits over its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDigest(String);

impl StateDigest {
    pub fn of(state: &impl Serialize) -> Result<Self, AppError> {
        let json = serde_json::to_vec(state).map_err(AppError::internal)?;
        Ok(Self(format!(
            "sha256:{}",
            hex::encode(Sha256::digest(json))
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a use case tells [`write`] about the object it wrote.
#[derive(Debug, Default)]
pub struct Entry {
    object_id: Option<String>,
    before: Option<StateDigest>,
    after: Option<StateDigest>,
}

impl Entry {
    /// An entry for the object with this id (for [`record`]).
    pub fn new(object_id: impl ToString) -> Self {
        Self {
            object_id: Some(object_id.to_string()),
            ..Self::default()
        }
    }

    /// The id of the object written (the kind comes from the action).
    pub fn object(&mut self, id: impl ToString) -> &mut Self {
        self.object_id = Some(id.to_string());
        self
    }

    /// The object's state before the write.
    pub fn before(&mut self, state: &impl Serialize) -> Result<&mut Self, AppError> {
        self.before = Some(StateDigest::of(state)?);
        Ok(self)
    }

    /// The object's state after the write.
    pub fn after(&mut self, state: &impl Serialize) -> Result<&mut Self, AppError> {
        self.after = Some(StateDigest::of(state)?);
        Ok(self)
    }

    /// The digest of the state after the write, computed beforehand (for a large state,
    /// so that the transaction does not wait for it).
    pub fn after_digest(&mut self, digest: StateDigest) -> &mut Self {
        self.after = Some(digest);
        self
    }
}

/// Runs `work` in one write transaction and records its audit entry in it.
///
/// `work` names the object it wrote (and digests of its states) on the [`Entry`]; a use
/// case that returns without naming it is a bug, answered as 500 with nothing written.
pub fn write<T, F>(
    conn: &mut DbConnection,
    actor: &Actor,
    action: Action,
    work: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection, &mut Entry) -> Result<T, AppError>,
{
    conn.write_transaction(|conn| {
        let mut entry = Entry::default();
        let value = work(conn, &mut entry)?;
        record(conn, actor, action, entry)?;
        Ok(value)
    })
}

/// Inserts an entry; for use cases already inside their write transaction (see [`write`]).
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: Action,
    entry: Entry,
) -> Result<(), AppError> {
    let object_id = entry.object_id.ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "the write {} named no object to audit",
            action.as_str()
        ))
    })?;
    rows::insert(
        conn,
        &NewAuditEvent {
            occurred_at: now(),
            actor_kind: actor.kind.as_str().to_owned(),
            actor_id: actor.id.map(|id| id.to_string()),
            actor_role: actor.role.map(|role| role.as_str().to_owned()),
            action: action.as_str().to_owned(),
            object_type: action.object_type().as_str().to_owned(),
            object_id,
            before_digest: entry.before.map(|d| d.0),
            after_digest: entry.after.map(|d| d.0),
            request_id: actor.request_id.clone(),
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_parses_back_and_names_its_object() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
            let (object, _) = action.as_str().split_once('.').expect("a dotted name");
            assert_eq!(object, action.object_type().as_str(), "{action:?}");
        }
        for object in ObjectType::ALL {
            assert_eq!(ObjectType::parse(object.as_str()), Some(*object));
        }
        assert_eq!(Action::parse("challenge.deleted"), None);
    }

    #[test]
    fn a_digest_is_sha256_over_the_json_and_changes_with_the_state() {
        #[derive(Serialize)]
        struct Row {
            id: &'static str,
            name: &'static str,
        }
        let a = StateDigest::of(&Row {
            id: "1",
            name: "North",
        })
        .expect("digest");
        // The digest of exactly these bytes: no spaces, fields in declaration order.
        assert_eq!(
            a.as_str(),
            format!(
                "sha256:{}",
                hex::encode(Sha256::digest(br#"{"id":"1","name":"North"}"#))
            )
        );
        assert_eq!(a.as_str().len(), "sha256:".len() + 64);
        let b = StateDigest::of(&Row {
            id: "1",
            name: "South",
        })
        .expect("digest");
        assert_ne!(a, b);
    }

    #[test]
    fn the_serde_names_are_the_stored_names() {
        for action in Action::ALL {
            let json = serde_json::to_value(action).expect("serialise");
            assert_eq!(json, serde_json::json!(action.as_str()));
        }
        for object in ObjectType::ALL {
            let json = serde_json::to_value(object).expect("serialise");
            assert_eq!(json, serde_json::json!(object.as_str()));
        }
        for kind in [ActorKind::User, ActorKind::ApiClient, ActorKind::System] {
            let json = serde_json::to_value(kind).expect("serialise");
            assert_eq!(json, serde_json::json!(kind.as_str()));
            assert_eq!(ActorKind::parse(kind.as_str()), Some(kind));
        }
    }
}
