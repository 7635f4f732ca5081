//! The `contacts` read model. Each event is folded into the stored domain state with the
//! domain's own `apply` (one implementation of "what an event does"), and the search columns are
//! derived from the result: folded name, digits of phones and document, the routing key. A batch
//! of events is folded in memory and written with one statement ([`crate::fold`], [`crate::rows`]).

use chrono::NaiveDate;
use domain::contact::{Address, Contact, LinkedChannel};
use domain::values::search::{digits, fold};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::fold::{fold_streams, refuse_gaps};
use crate::log::StoredEvent;
use crate::projection::{ApplyFuture, Projection};
use crate::rows::{ts, write_rows, CopyLine, TableRow};

pub struct ContactsProjection;

impl Projection for ContactsProjection {
    fn name(&self) -> &'static str {
        "contacts"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Contact"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["contacts"]
    }

    fn reads_own_rows_by_key_only(&self) -> bool {
        true
    }

    /// One row per contact, written from its own stream only.
    fn replays_streams_independently(&self) -> bool {
        true
    }

    fn apply<'a>(&'a self, tx: &'a mut PgConnection, event: &'a StoredEvent) -> ApplyFuture<'a> {
        self.apply_batch(tx, std::slice::from_ref(event))
    }

    fn apply_batch<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> ApplyFuture<'a> {
        Box::pin(async move {
            let folded = fold_streams::<Contact>(&mut *tx, "contacts", events).await?;
            refuse_gaps(&folded)?;
            let rows = folded
                .iter()
                .filter(|f| f.changed())
                .map(|f| (f.existed, ContactRow::of(&f.state)))
                .collect();
            write_rows(tx, "contacts", &["id"], rows).await
        })
    }
}

/// The whole row of one contact, derived from its folded state.
#[derive(Serialize)]
struct ContactRow<'a> {
    id: Uuid,
    account_id: Uuid,
    version: i64,
    name: &'a str,
    name_search: String,
    mother_name: Option<&'a str>,
    phone_e164: Option<&'a str>,
    phone_digits: Option<String>,
    phone_key: Option<String>,
    phone2_e164: Option<&'a str>,
    phone2_digits: Option<String>,
    active: bool,
    classification_id: Option<Uuid>,
    tag_ids: &'a [Uuid],
    document_kind: Option<&'static str>,
    document_value: Option<&'a str>,
    rg: Option<&'a str>,
    registration_number: Option<&'a str>,
    registration_search: Option<String>,
    email: Option<&'a str>,
    birth_date: Option<NaiveDate>,
    portfolio_agent_id: Option<Uuid>,
    extra1: Option<&'a str>,
    extra2: Option<&'a str>,
    extra3: Option<&'a str>,
    image_sha256: Option<&'a str>,
    image_content_type: Option<&'a str>,
    addresses: &'a [Address],
    channels: &'a [LinkedChannel],
    state: &'a Contact,
    created_at: String,
    updated_at: String,
}

impl<'a> ContactRow<'a> {
    fn of(c: &'a Contact) -> Self {
        let p = &c.profile;
        Self {
            id: c.id,
            account_id: c.account_id,
            version: c.version,
            name: &p.name,
            name_search: fold(&p.name),
            mother_name: p.mother_name.as_deref(),
            phone_e164: p.phone.as_ref().map(|x| x.e164()),
            phone_digits: p.phone.as_ref().map(|x| digits(x.e164())),
            phone_key: p.phone.as_ref().map(|x| x.routing_key()),
            phone2_e164: p.phone2.as_ref().map(|x| x.e164()),
            phone2_digits: p.phone2.as_ref().map(|x| digits(x.e164())),
            active: p.active,
            classification_id: p.classification_id,
            tag_ids: &p.tag_ids,
            document_kind: p.document.as_ref().map(|d| d.kind().as_str()),
            document_value: p.document.as_ref().map(|d| d.value()),
            rg: p.rg.as_deref(),
            registration_number: p.registration_number.as_deref(),
            registration_search: p.registration_number.as_deref().map(fold),
            email: p.email.as_ref().map(|e| e.as_str()),
            birth_date: p.birth_date.map(|b| b.date()),
            portfolio_agent_id: p.portfolio_agent_id,
            extra1: p.extra1.as_deref(),
            extra2: p.extra2.as_deref(),
            extra3: p.extra3.as_deref(),
            image_sha256: c.image.as_ref().map(|i| i.sha256.as_str()),
            image_content_type: c.image.as_ref().map(|i| i.content_type.as_str()),
            addresses: &c.addresses,
            channels: &c.channels,
            state: c,
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
        }
    }
}

impl TableRow for ContactRow<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "account_id",
        "version",
        "name",
        "name_search",
        "mother_name",
        "phone_e164",
        "phone_digits",
        "phone_key",
        "phone2_e164",
        "phone2_digits",
        "active",
        "classification_id",
        "tag_ids",
        "document_kind",
        "document_value",
        "rg",
        "registration_number",
        "registration_search",
        "email",
        "birth_date",
        "portfolio_agent_id",
        "extra1",
        "extra2",
        "extra3",
        "image_sha256",
        "image_content_type",
        "addresses",
        "channels",
        "state",
        "created_at",
        "updated_at",
    ];

    fn copy_fields(&self, l: &mut CopyLine) -> anyhow::Result<()> {
        l.uuid(Some(self.id));
        l.uuid(Some(self.account_id));
        l.plain(Some(self.version));
        l.text(Some(self.name));
        l.text(Some(&self.name_search));
        l.text(self.mother_name);
        l.text(self.phone_e164);
        l.text(self.phone_digits.as_deref());
        l.text(self.phone_key.as_deref());
        l.text(self.phone2_e164);
        l.text(self.phone2_digits.as_deref());
        l.bool(self.active);
        l.uuid(self.classification_id);
        l.uuids(self.tag_ids);
        l.text(self.document_kind);
        l.text(self.document_value);
        l.text(self.rg);
        l.text(self.registration_number);
        l.text(self.registration_search.as_deref());
        l.text(self.email);
        l.date(self.birth_date);
        l.uuid(self.portfolio_agent_id);
        l.text(self.extra1);
        l.text(self.extra2);
        l.text(self.extra3);
        l.text(self.image_sha256);
        l.text(self.image_content_type);
        l.json(&self.addresses)?;
        l.json(&self.channels)?;
        l.json(self.state)?;
        l.text(Some(&self.created_at));
        l.text(Some(&self.updated_at));
        Ok(())
    }
}

/// Reads of the contacts read model.
pub mod read {
    use domain::contact::Contact;
    use domain::values::search::{digits, fold};
    use sqlx::{PgPool, Postgres, QueryBuilder};
    use uuid::Uuid;

    use crate::like;

    /// Which field a search looks in (the contract's ContactSearchField).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SearchField {
        Any,
        Name,
        Document,
        Phone,
        Email,
        RegistrationNumber,
    }

    /// A contact search: scope, term, page.
    #[derive(Debug, Clone)]
    pub struct ContactSearch {
        /// None: every account (administrators); Some: only these.
        pub visible_accounts: Option<Vec<Uuid>>,
        pub account_id: Option<Uuid>,
        pub field: SearchField,
        pub term: Option<String>,
        pub first: i64,
        /// The sort key after which the page starts: (folded name, id).
        pub after: Option<(String, Uuid)>,
    }

    /// Contacts by id (the ids that exist).
    pub async fn get_many(
        pool: &PgPool,
        ids: &[Uuid],
    ) -> anyhow::Result<std::collections::HashMap<Uuid, Contact>> {
        // Decoded straight from the column's text, without an intermediate JSON value.
        let rows: Vec<(Uuid, sqlx::types::Json<Contact>)> =
            sqlx::query_as("SELECT id, state FROM contacts WHERE id = ANY($1)")
                .bind(ids)
                .fetch_all(pool)
                .await?;
        Ok(rows.into_iter().map(|(id, state)| (id, state.0)).collect())
    }

    fn push_filter(q: &mut QueryBuilder<'_, Postgres>, s: &ContactSearch) {
        q.push(" WHERE true");
        if let Some(ids) = &s.visible_accounts {
            q.push(" AND account_id = ANY(")
                .push_bind(ids.clone())
                .push(")");
        }
        if let Some(a) = s.account_id {
            q.push(" AND account_id = ").push_bind(a);
        }
        let Some(term) = s.term.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
            return;
        };
        let name = like::contains(&fold(term));
        let email = like::contains(&term.to_lowercase());
        let doc: String = term
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_uppercase();
        let d = digits(term);
        let has_digits = !d.is_empty();
        // Letters and digits only: nothing to escape.
        let doc_like = format!("%{doc}%");
        let digits_like = format!("%{d}%");
        q.push(" AND (false");
        let any = s.field == SearchField::Any;
        if any || s.field == SearchField::Name {
            q.push(" OR name_search LIKE ").push_bind(name.clone());
        }
        if (any || s.field == SearchField::Document) && !doc.is_empty() {
            q.push(" OR document_value LIKE ").push_bind(doc_like);
        }
        if (any || s.field == SearchField::Phone) && has_digits {
            q.push(" OR phone_digits LIKE ")
                .push_bind(digits_like.clone());
            q.push(" OR phone2_digits LIKE ")
                .push_bind(digits_like.clone());
            q.push(" OR phone_key LIKE ").push_bind(digits_like);
        }
        if any || s.field == SearchField::Email {
            q.push(" OR lower(email) LIKE ").push_bind(email);
        }
        if any || s.field == SearchField::RegistrationNumber {
            q.push(" OR registration_search LIKE ").push_bind(name);
        }
        q.push(")");
    }

    /// A page of contacts ordered by name, plus the total matching the search.
    pub async fn search(
        pool: &PgPool,
        s: &ContactSearch,
    ) -> anyhow::Result<(Vec<(String, Contact)>, i64)> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT name_search, state FROM contacts");
        push_filter(&mut q, s);
        if let Some((name, id)) = &s.after {
            q.push(" AND (name_search, id) > (")
                .push_bind(name.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        q.push(" ORDER BY name_search, id LIMIT ")
            .push_bind(s.first + 1);
        let rows: Vec<(String, serde_json::Value)> = q.build_query_as().fetch_all(pool).await?;
        let mut page = Vec::with_capacity(rows.len());
        for (name, state) in rows {
            page.push((name, serde_json::from_value::<Contact>(state)?));
        }
        let mut c = QueryBuilder::<Postgres>::new("SELECT count(*) FROM contacts");
        push_filter(&mut c, s);
        let total: i64 = c.build_query_scalar().fetch_one(pool).await?;
        Ok((page, total))
    }
}
