//! The `contacts` read model. Each event is folded into the stored domain state with the
//! domain's own `apply` (one implementation of "what an event does"), and the search columns are
//! derived from the result: folded name, digits of phones and document, the routing key.

use cqrs_es::Aggregate;
use domain::contact::{Contact, ContactEvent};
use domain::values::search::{digits, fold};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{ApplyFuture, Projection};

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

    fn apply<'a>(&'a self, tx: &'a mut PgConnection, event: &'a StoredEvent) -> ApplyFuture<'a> {
        Box::pin(async move {
            let id: Uuid = event.aggregate_id.parse()?;
            let ev: ContactEvent = serde_json::from_value(crate::upcast::upcast(event)?)?;
            let current: Option<serde_json::Value> =
                sqlx::query_scalar("SELECT state FROM contacts WHERE id = $1 FOR UPDATE")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let mut contact: Contact = match current {
                Some(v) => serde_json::from_value(v)?,
                None => Contact::default(),
            };
            contact.apply(ev);
            upsert(tx, &contact).await
        })
    }
}

/// Writes the whole row of one contact from its folded state.
pub async fn upsert(tx: &mut PgConnection, c: &Contact) -> anyhow::Result<()> {
    let p = &c.profile;
    let state = serde_json::to_value(c)?;
    sqlx::query(
        "INSERT INTO contacts (id, account_id, version, name, name_search, mother_name, phone_e164, phone_digits,
                               phone_key, phone2_e164, phone2_digits, active, classification_id, tag_ids,
                               document_kind, document_value, rg, registration_number, registration_search, email,
                               birth_date, portfolio_agent_id, extra1, extra2, extra3, image_sha256,
                               image_content_type, addresses, channels, state, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,
                 $27,$28,$29,$30,$31,$32)
         ON CONFLICT (id) DO UPDATE SET
           account_id = EXCLUDED.account_id, version = EXCLUDED.version, name = EXCLUDED.name,
           name_search = EXCLUDED.name_search, mother_name = EXCLUDED.mother_name,
           phone_e164 = EXCLUDED.phone_e164, phone_digits = EXCLUDED.phone_digits, phone_key = EXCLUDED.phone_key,
           phone2_e164 = EXCLUDED.phone2_e164, phone2_digits = EXCLUDED.phone2_digits, active = EXCLUDED.active,
           classification_id = EXCLUDED.classification_id, tag_ids = EXCLUDED.tag_ids,
           document_kind = EXCLUDED.document_kind, document_value = EXCLUDED.document_value, rg = EXCLUDED.rg,
           registration_number = EXCLUDED.registration_number, registration_search = EXCLUDED.registration_search,
           email = EXCLUDED.email, birth_date = EXCLUDED.birth_date, portfolio_agent_id = EXCLUDED.portfolio_agent_id,
           extra1 = EXCLUDED.extra1, extra2 = EXCLUDED.extra2, extra3 = EXCLUDED.extra3,
           image_sha256 = EXCLUDED.image_sha256, image_content_type = EXCLUDED.image_content_type,
           addresses = EXCLUDED.addresses, channels = EXCLUDED.channels, state = EXCLUDED.state,
           created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at",
    )
    .bind(c.id)
    .bind(c.account_id)
    .bind(c.version)
    .bind(&p.name)
    .bind(fold(&p.name))
    .bind(&p.mother_name)
    .bind(p.phone.as_ref().map(|x| x.e164().to_string()))
    .bind(p.phone.as_ref().map(|x| digits(x.e164())))
    .bind(p.phone.as_ref().map(|x| x.routing_key()))
    .bind(p.phone2.as_ref().map(|x| x.e164().to_string()))
    .bind(p.phone2.as_ref().map(|x| digits(x.e164())))
    .bind(p.active)
    .bind(p.classification_id)
    .bind(&p.tag_ids)
    .bind(p.document.as_ref().map(|d| d.kind().as_str().to_string()))
    .bind(p.document.as_ref().map(|d| d.value().to_string()))
    .bind(&p.rg)
    .bind(&p.registration_number)
    .bind(p.registration_number.as_deref().map(fold))
    .bind(p.email.as_ref().map(|e| e.as_str().to_string()))
    .bind(p.birth_date.map(|b| b.date()))
    .bind(p.portfolio_agent_id)
    .bind(&p.extra1)
    .bind(&p.extra2)
    .bind(&p.extra3)
    .bind(c.image.as_ref().map(|i| i.sha256.clone()))
    .bind(c.image.as_ref().map(|i| i.content_type.clone()))
    .bind(serde_json::to_value(&c.addresses)?)
    .bind(serde_json::to_value(&c.channels)?)
    .bind(state)
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Reads of the contacts read model.
pub mod read {
    use domain::contact::Contact;
    use domain::values::search::{digits, fold};
    use sqlx::{PgPool, Postgres, QueryBuilder};
    use uuid::Uuid;

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

    /// One contact by id.
    pub async fn get(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<Contact>> {
        let state: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT state FROM contacts WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?;
        Ok(state.map(serde_json::from_value).transpose()?)
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
        let name = format!("%{}%", fold(term));
        let email = format!("%{}%", term.to_lowercase());
        let doc: String = term
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_uppercase();
        let d = digits(term);
        let has_digits = !d.is_empty();
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
