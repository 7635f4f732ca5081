//! Attendances end to end over HTTP: inbound messages from a gateway (contact creation,
//! redelivery, continuation), outbound openings (taking it, the WhatsApp window and templates,
//! one open attendance per contact), the pending list and its shortcut count, rescue, finalize
//! one (survey) or in bulk (no survey, the 50-id limit), and visibility between agents.

use domain::kinds::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};

const ATTENDANCE_FIELDS: &str =
    "id protocol status direction channel surveyRequested lastInteractionAt
    lastMessagePreview agent { id } contact { id name phone { e164 } }
    messages { totalCount nodes { author text template { variables template { id } } } }";

fn uuid(v: &Value) -> Uuid {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .parse()
        .unwrap()
}

/// An administrator, an account with a default service (survey on), and a gateway's token.
struct World {
    app: TestApp,
    admin: String,
    account: Uuid,
    service: Uuid,
    gateway: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let data = app
        .ok(
            Some(&admin),
            "mutation { createIntegrationToken(name: \"gateway\") }",
            json!({}),
        )
        .await;
    let gateway = data["createIntegrationToken"].as_str().unwrap().to_string();
    World {
        app,
        admin,
        account,
        service,
        gateway,
    }
}

impl World {
    /// An AGENT of the service: (id, e-mail, token).
    async fn agent(&self) -> (Uuid, String, String) {
        let email = format!("agent-{}@example.com", Uuid::new_v4().simple());
        let id = self
            .app
            .register_agent(&email, Role::Agent, vec![self.service])
            .await;
        let token = self.app.login(&email).await;
        (id, email, token)
    }

    async fn inbound(
        &self,
        channel: &str,
        from: &str,
        text: &str,
        external_id: Option<&str>,
    ) -> Value {
        let v = self
            .app
            .graphql(
                Some(&self.gateway),
                &format!("mutation($i: InboundMessageInput!) {{ receiveInboundMessage(input: $i) {{ {ATTENDANCE_FIELDS} }} }}"),
                json!({"i": {"accountId": self.account, "channel": channel, "from": from, "contactName": "Maria Conceição",
                             "text": text, "externalMessageId": external_id}}),
            )
            .await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
        v["data"]["receiveInboundMessage"].clone()
    }

    async fn contact(&self, token: &str, name: &str, number: &str) -> Uuid {
        let data = self
            .app
            .ok(
                Some(token),
                "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }",
                json!({"i": {"accountId": self.account, "name": name, "phone": {"ddi": "55", "number": number}}}),
            )
            .await;
        uuid(&data["registerContact"]["id"])
    }

    async fn open_outbound(
        &self,
        token: &str,
        contact: Uuid,
        channel: &str,
        message: Value,
    ) -> Value {
        self.app
            .graphql(
                Some(token),
                &format!(
                    "mutation($i: OpenOutboundAttendanceInput!) {{ openOutboundAttendance(input: $i) {{ {ATTENDANCE_FIELDS} }} }}"
                ),
                json!({"i": {"accountId": self.account, "contactId": contact, "channel": channel,
                             "destinationType": "SERVICE", "serviceId": self.service, "message": message}}),
            )
            .await
    }

    /// An attendance IN_PROGRESS with the agent of `token`, on WHATSAPP (no window).
    async fn taken(&self, token: &str, contact: Uuid) -> Uuid {
        let v = self
            .open_outbound(token, contact, "WHATSAPP", json!({"text": "Olá!"}))
            .await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
        assert_eq!(v["data"]["openOutboundAttendance"]["status"], "IN_PROGRESS");
        uuid(&v["data"]["openOutboundAttendance"]["id"])
    }

    async fn act(&self, token: &str, mutation: &str, id: Uuid) -> Value {
        self.app
            .graphql(
                Some(token),
                &format!("mutation($id: UUID!) {{ {mutation}(attendanceId: $id) {{ id status surveyRequested }} }}"),
                json!({"id": id}),
            )
            .await
    }

    async fn status(&self, id: Uuid) -> String {
        let data = self
            .app
            .ok(
                Some(&self.admin),
                "query($id: UUID!) { attendance(id: $id) { status } }",
                json!({"id": id}),
            )
            .await;
        data["attendance"]["status"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn an_inbound_message_creates_the_contact_and_a_waiting_attendance() {
    let w = world().await;
    let a = w
        .inbound(
            "WHATSAPP",
            "+5511987654321",
            "Oi, preciso de ajuda",
            Some("wamid.1"),
        )
        .await;
    assert_eq!(a["status"], "WAITING");
    assert_eq!(a["direction"], "INBOUND");
    assert_eq!(a["contact"]["name"], "Maria Conceição");
    assert_eq!(a["contact"]["phone"]["e164"], "+5511987654321");
    assert_eq!(a["lastMessagePreview"], "Oi, preciso de ajuda");
    assert_eq!(a["messages"]["nodes"][0]["author"], "CONTACT");
    assert!(
        a["protocol"].as_str().unwrap().starts_with("20261127-"),
        "{a}"
    );
    let data = w
        .app
        .ok(
            Some(&w.admin),
            "query($id: UUID!) { contact(id: $id) { channels { channel identifier } } }",
            json!({"id": a["contact"]["id"]}),
        )
        .await;
    assert_eq!(
        data["contact"]["channels"][0]["identifier"],
        "+5511987654321"
    );
}

#[tokio::test]
async fn a_redelivered_message_changes_nothing_and_the_next_one_continues_the_attendance() {
    let w = world().await;
    let first = w
        .inbound("WHATSAPP", "+5511987654321", "Oi", Some("wamid.1"))
        .await;
    let again = w
        .inbound("WHATSAPP", "+5511987654321", "Oi", Some("wamid.1"))
        .await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["messages"]["totalCount"], 1);
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Attendance'")
            .fetch_one(&w.app.db.pool)
            .await
            .unwrap();
    assert_eq!(events, 2, "opened + one message");
    let next = w
        .inbound("WHATSAPP", "+5511987654321", "Alguém?", Some("wamid.2"))
        .await;
    assert_eq!(next["id"], first["id"]);
    assert_eq!(next["contact"]["id"], first["contact"]["id"]);
    assert_eq!(next["messages"]["totalCount"], 2);
    assert_eq!(next["messages"]["nodes"][1]["text"], "Alguém?");
}

#[tokio::test]
async fn concurrent_deliveries_of_one_message_to_an_open_attendance_append_it_once() {
    let w = world().await;
    let first = w
        .inbound("WHATSAPP", "+5511987654321", "Oi", Some("wamid.1"))
        .await;
    let messages = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM events WHERE event_type = 'CustomerMessageReceived'",
        )
        .fetch_one(&w.app.db.pool)
        .await
        .unwrap()
    };
    let before = messages().await;
    let deliveries =
        (0..8).map(|_| w.inbound("WHATSAPP", "+5511987654321", "Alguém?", Some("wamid.2")));
    let answers = futures::future::join_all(deliveries).await;
    for answer in &answers {
        assert_eq!(
            answer["id"], first["id"],
            "every delivery names the attendance"
        );
    }
    assert_eq!(
        messages().await,
        before + 1,
        "the message is appended once, whoever claimed it first"
    );
}

/// Two deliveries of one message to a contact's open attendance claim its id for the same
/// attendance: only the first claim is the delivery's own, the second answers with it.
#[tokio::test]
async fn a_second_claim_of_a_message_id_for_the_same_attendance_is_another_deliverys() {
    use commands::attendances::idempotency::claim_inbound;
    use domain::kinds::ChannelType;

    let w = world().await;
    let first = w
        .inbound("WHATSAPP", "+5511987654321", "Oi", Some("wamid.1"))
        .await;
    let attendance = uuid(&first["id"]);
    let pool = &w.app.db.pool;
    let now = chrono::Utc::now();
    let claim = || {
        claim_inbound(
            pool,
            w.account,
            ChannelType::Whatsapp,
            "wamid.2",
            attendance,
            now,
        )
    };
    assert_eq!(claim().await.unwrap(), None, "the first claim acts");
    assert_eq!(
        claim().await.unwrap(),
        Some(attendance),
        "the second names where the first went and does not act"
    );
}

#[tokio::test]
async fn a_refused_delivery_to_an_open_attendance_gives_its_message_id_back() {
    let w = world().await;
    let first = w
        .inbound("WHATSAPP", "+5511987654321", "Oi", Some("wamid.1"))
        .await;
    let refused = w
        .app
        .graphql(
            Some(&w.gateway),
            "mutation($i: InboundMessageInput!) { receiveInboundMessage(input: $i) { id } }",
            json!({"i": {"accountId": w.account, "channel": "WHATSAPP", "from": "+5511987654321",
                         "text": "Alguém?", "externalMessageId": "wamid.2", "serviceId": Uuid::new_v4()}}),
        )
        .await;
    assert_eq!(error_code(&refused), "VALIDATION", "{refused:#}");
    let claims: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM inbound_message_ids WHERE external_id = 'wamid.2'",
    )
    .fetch_one(&w.app.db.pool)
    .await
    .unwrap();
    assert_eq!(claims, 0, "the refused delivery holds no claim");
    let retried = w
        .inbound("WHATSAPP", "+5511987654321", "Alguém?", Some("wamid.2"))
        .await;
    assert_eq!(retried["id"], first["id"]);
    assert_eq!(
        retried["messages"]["totalCount"], 2,
        "the corrected retry is delivered"
    );
}

#[tokio::test]
async fn an_agent_opens_an_outbound_attendance_and_takes_it() {
    let w = world().await;
    let (me, _, token) = w.agent().await;
    let contact = w.contact(&token, "Ana", "11987654321").await;
    let v = w
        .open_outbound(&token, contact, "WHATSAPP", json!({"text": "Bom dia!"}))
        .await;
    let a = &v["data"]["openOutboundAttendance"];
    assert_eq!(a["status"], "IN_PROGRESS", "{v:#}");
    assert_eq!(a["direction"], "OUTBOUND");
    assert_eq!(uuid(&a["agent"]["id"]), me);
    assert_eq!(a["messages"]["nodes"][0]["author"], "AGENT");
    let mine = w
        .app
        .ok(
            Some(&token),
            "{ myAttendances { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["myAttendances"]["totalCount"], 1);
}

#[tokio::test]
async fn a_second_open_attendance_for_the_contact_is_a_conflict_naming_the_first() {
    let w = world().await;
    let (_, _, token) = w.agent().await;
    let contact = w.contact(&token, "Ana", "11987654321").await;
    let first = w.taken(&token, contact).await;
    let v = w
        .open_outbound(&token, contact, "WHATSAPP", json!({"text": "De novo"}))
        .await;
    assert_eq!(error_code(&v), "CONFLICT");
    assert_eq!(uuid(&v["errors"][0]["extensions"]["existingId"]), first);
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_attendance() {
    let w = world().await;
    let (_, _, token) = w.agent().await;
    let contact = w.contact(&token, "Ana", "11987654321").await;
    let q =
        "mutation($i: OpenOutboundAttendanceInput!) { openOutboundAttendance(input: $i) { id } }";
    let input = json!({"i": {"accountId": w.account, "contactId": contact, "channel": "WHATSAPP", "destinationType": "SERVICE",
                             "serviceId": w.service, "message": {"text": "Oi"}, "idempotencyKey": "k-1"}});
    let first = w.app.ok(Some(&token), q, input.clone()).await;
    let again = w.app.ok(Some(&token), q, input).await;
    assert_eq!(
        first["openOutboundAttendance"]["id"],
        again["openOutboundAttendance"]["id"]
    );
}

#[tokio::test]
async fn a_closed_whatsapp_window_requires_a_template_with_the_right_values() {
    let w = world().await;
    let (_, email, _) = w.agent().await;
    let inbound = w
        .inbound("WHATSAPP_BUSINESS_API", "+5511987654321", "Oi", None)
        .await;
    let contact = uuid(&inbound["contact"]["id"]);
    let window = "query($a: UUID!, $c: UUID!) { whatsappWindow(accountId: $a, contactId: $c) { open lastInboundAt closesAt } }";
    let open = w
        .app
        .ok(
            Some(&w.admin),
            window,
            json!({"a": w.account, "c": contact}),
        )
        .await;
    assert_eq!(open["whatsappWindow"]["open"], true);
    let closed = w
        .act(&w.admin, "finalizeAttendance", uuid(&inbound["id"]))
        .await;
    assert!(closed.get("errors").is_none(), "{closed:#}");

    w.app.clock.advance(chrono::Duration::hours(25));
    let token = w.app.login(&email).await;
    let admin = w.app.admin().await;
    let shut = w
        .app
        .ok(Some(&admin), window, json!({"a": w.account, "c": contact}))
        .await;
    assert_eq!(shut["whatsappWindow"]["open"], false);
    let v = w
        .open_outbound(
            &token,
            contact,
            "WHATSAPP_BUSINESS_API",
            json!({"text": "Oi de novo"}),
        )
        .await;
    assert_eq!(error_code(&v), "WINDOW_CLOSED");

    let t = w
        .app
        .ok(
            Some(&admin),
            "mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id variableCount } }",
            json!({"i": {"accountId": w.account, "channel": "WHATSAPP_BUSINESS_API", "name": "retorno", "language": "pt_BR",
                         "body": "Olá {{1}}, seu pedido {{2}} chegou"}}),
        )
        .await;
    let template = t["createTemplate"]["id"].clone();
    let v = w
        .open_outbound(
            &token,
            contact,
            "WHATSAPP_BUSINESS_API",
            json!({"templateId": template, "templateVariables": ["Ana"]}),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION");
    let v = w
        .open_outbound(
            &token,
            contact,
            "WHATSAPP_BUSINESS_API",
            json!({"templateId": template, "templateVariables": ["Ana", "42"]}),
        )
        .await;
    let a = &v["data"]["openOutboundAttendance"];
    assert_eq!(a["status"], "IN_PROGRESS", "{v:#}");
    let m = &a["messages"]["nodes"][0];
    assert_eq!(m["text"], "Olá Ana, seu pedido 42 chegou");
    assert_eq!(m["template"]["variables"], json!(["Ana", "42"]));
    assert_eq!(m["template"]["template"]["id"], template);

    let send = w
        .app
        .graphql(
            Some(&token),
            "mutation($id: UUID!) { sendMessage(attendanceId: $id, input: {text: \"texto livre\"}) { id } }",
            json!({"id": a["id"]}),
        )
        .await;
    assert_eq!(error_code(&send), "WINDOW_CLOSED");
}

#[tokio::test]
async fn pending_attendances_are_listed_with_their_count_and_a_customer_message_moves_one_to_the_top(
) {
    let w = world().await;
    let (_, _, token) = w.agent().await;
    let ana = w.contact(&token, "Ana Júlia", "11987654321").await;
    let bia = w.contact(&token, "Beatriz", "11912345678").await;
    let a = w.taken(&token, ana).await;
    w.app.clock.advance(chrono::Duration::minutes(1));
    let b = w.taken(&token, bia).await;
    for id in [a, b] {
        let v = w.act(&token, "markPending", id).await;
        assert_eq!(v["data"]["markPending"]["status"], "PENDING", "{v:#}");
    }
    let list = "query($s: String) { pendingAttendances(search: $s) {
        totalCount nodes { id lastMessagePreview contact { id name } } } }";
    let data = w.app.ok(Some(&token), list, json!({})).await;
    assert_eq!(data["pendingAttendances"]["totalCount"], 2);
    assert_eq!(
        uuid(&data["pendingAttendances"]["nodes"][0]["id"]),
        b,
        "last interaction first"
    );
    // Each row brings its own contact (read with the page, in the same query).
    let nodes = &data["pendingAttendances"]["nodes"];
    assert_eq!(uuid(&nodes[0]["contact"]["id"]), bia);
    assert_eq!(nodes[0]["contact"]["name"], "Beatriz");
    assert_eq!(uuid(&nodes[1]["contact"]["id"]), ana);
    assert_eq!(nodes[1]["contact"]["name"], "Ana Júlia");

    w.app.clock.advance(chrono::Duration::minutes(1));
    let moved = w
        .inbound(
            "WHATSAPP",
            "+5511987654321",
            "Ainda estou aqui",
            Some("wamid.9"),
        )
        .await;
    assert_eq!(uuid(&moved["id"]), a);
    assert_eq!(
        moved["status"], "PENDING",
        "a customer message keeps it pending"
    );
    let data = w.app.ok(Some(&token), list, json!({})).await;
    assert_eq!(uuid(&data["pendingAttendances"]["nodes"][0]["id"]), a);
    assert_eq!(
        data["pendingAttendances"]["nodes"][0]["lastMessagePreview"],
        "Ainda estou aqui"
    );

    let found = w
        .app
        .ok(Some(&token), list, json!({"s": "ana julia"}))
        .await;
    assert_eq!(found["pendingAttendances"]["totalCount"], 1);
    assert_eq!(uuid(&found["pendingAttendances"]["nodes"][0]["id"]), a);
    let by_phone = w
        .app
        .ok(Some(&token), list, json!({"s": "91234-5678"}))
        .await;
    assert_eq!(uuid(&by_phone["pendingAttendances"]["nodes"][0]["id"]), b);

    let v = w.act(&token, "rescueAttendance", a).await;
    assert_eq!(
        v["data"]["rescueAttendance"]["status"], "IN_PROGRESS",
        "{v:#}"
    );
    let data = w.app.ok(Some(&token), list, json!({})).await;
    assert_eq!(data["pendingAttendances"]["totalCount"], 1);

    // A page past the end is empty and still counts the whole list.
    let paged = "query($after: String) { pendingAttendances(first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id } } }";
    let first = w.app.ok(Some(&token), paged, json!({})).await;
    assert_eq!(first["pendingAttendances"]["totalCount"], 1);
    let end = first["pendingAttendances"]["pageInfo"]["endCursor"].clone();
    let past = w.app.ok(Some(&token), paged, json!({"after": end})).await;
    assert_eq!(past["pendingAttendances"]["nodes"], json!([]));
    assert_eq!(past["pendingAttendances"]["totalCount"], 1);
}

#[tokio::test]
async fn finalizing_one_requests_the_survey_but_a_bulk_finalize_does_not() {
    let w = world().await;
    let (_, _, token) = w.agent().await;
    let ana = w.contact(&token, "Ana", "11987654321").await;
    let bia = w.contact(&token, "Bia", "11912345678").await;
    let one = w.taken(&token, ana).await;
    let v = w.act(&token, "finalizeAttendance", one).await;
    assert_eq!(
        v["data"]["finalizeAttendance"]["status"], "FINALIZED",
        "{v:#}"
    );
    assert_eq!(v["data"]["finalizeAttendance"]["surveyRequested"], true);

    let two = w.taken(&token, bia).await;
    w.app.clock.advance(chrono::Duration::minutes(1));
    let again = w.taken(&token, ana).await;
    let unknown = Uuid::new_v4();
    let data = w
        .app
        .ok(
            Some(&token),
            "mutation($ids: [UUID!]!) { finalizeAttendances(attendanceIds: $ids, reason: \"fim\") {
                succeeded failed { attendanceId code message } } }",
            json!({"ids": [two, again, unknown, two]}),
        )
        .await;
    let r = &data["finalizeAttendances"];
    assert_eq!(r["succeeded"], json!([two, again]));
    assert_eq!(uuid(&r["failed"][0]["attendanceId"]), unknown);
    assert_eq!(r["failed"][0]["code"], "NOT_FOUND");
    for id in [two, again] {
        let a = w
            .app
            .ok(Some(&w.admin), "query($id: UUID!) { attendance(id: $id) { status surveyRequested finalizeReason } }", json!({"id": id}))
            .await;
        assert_eq!(a["attendance"]["status"], "FINALIZED");
        assert_eq!(a["attendance"]["surveyRequested"], false);
        assert_eq!(a["attendance"]["finalizeReason"], "fim");
    }
    let history = w
        .app
        .ok(
            Some(&token),
            "query($c: UUID!) { contactHistory(contactId: $c) { totalCount nodes { id } } }",
            json!({"c": ana}),
        )
        .await;
    assert_eq!(history["contactHistory"]["totalCount"], 2);
    assert_eq!(
        uuid(&history["contactHistory"]["nodes"][0]["id"]),
        again,
        "newest first"
    );
}

#[tokio::test]
async fn bulk_actions_refuse_51_ids_before_changing_anything() {
    let w = world().await;
    let (_, _, token) = w.agent().await;
    let ana = w.contact(&token, "Ana", "11987654321").await;
    let a = w.taken(&token, ana).await;
    let mut ids: Vec<Uuid> = (0..50).map(|_| Uuid::new_v4()).collect();
    ids.push(a);
    for mutation in [
        "finalizeAttendances(attendanceIds: $ids)",
        "rescueAttendances(attendanceIds: $ids)",
    ] {
        let v = w
            .app
            .graphql(
                Some(&token),
                &format!("mutation($ids: [UUID!]!) {{ {mutation} {{ succeeded }} }}"),
                json!({"ids": ids}),
            )
            .await;
        assert_eq!(error_code(&v), "LIMIT_EXCEEDED");
    }
    assert_eq!(w.status(a).await, "IN_PROGRESS");
}

#[tokio::test]
async fn another_agent_cannot_see_or_touch_my_attendance() {
    let w = world().await;
    let (_, _, mine) = w.agent().await;
    let (_, _, theirs) = w.agent().await;
    let ana = w.contact(&mine, "Ana", "11987654321").await;
    let a = w.taken(&mine, ana).await;
    let v = w
        .app
        .graphql(
            Some(&theirs),
            "query($id: UUID!) { attendance(id: $id) { id } }",
            json!({"id": a}),
        )
        .await;
    assert_eq!(error_code(&v), "NOT_FOUND");
    let v = w.act(&theirs, "finalizeAttendance", a).await;
    assert_eq!(error_code(&v), "NOT_FOUND");
    let found = w
        .app
        .ok(
            Some(&theirs),
            "{ findAttendances(search: \"Ana\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(found["findAttendances"]["totalCount"], 0);
    let found = w
        .app
        .ok(
            Some(&mine),
            "{ findAttendances(search: \"ana\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(found["findAttendances"]["totalCount"], 1);
    assert_eq!(w.status(a).await, "IN_PROGRESS");
}

#[tokio::test]
async fn pages_larger_than_200_are_refused() {
    let w = world().await;
    let (_, _, token) = w.agent().await;
    let v = w
        .app
        .graphql(
            Some(&token),
            "{ pendingAttendances(first: 201) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&v), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn a_flow_hands_off_to_a_service_and_a_supervisor_transfers_it_to_an_agent() {
    let w = world().await;
    let v = w
        .app
        .graphql(
            Some(&w.gateway),
            "mutation($i: InboundMessageInput!) { receiveInboundMessage(input: $i) { id status destinationType flowId } }",
            json!({"i": {"accountId": w.account, "channel": "EMAIL", "from": "maria@example.com", "text": "Olá", "flowId": "triage"}}),
        )
        .await;
    let a = &v["data"]["receiveInboundMessage"];
    assert_eq!(a["status"], "IN_FLOW", "{v:#}");
    assert_eq!(a["flowId"], "triage");
    let id = uuid(&a["id"]);
    let again = w
        .app
        .ok(
            Some(&w.gateway),
            "mutation($i: InboundMessageInput!) { receiveInboundMessage(input: $i) { id contact { name } } }",
            json!({"i": {"accountId": w.account, "channel": "EMAIL", "from": "maria@example.com", "text": "Alô?"}}),
        )
        .await;
    assert_eq!(
        uuid(&again["receiveInboundMessage"]["id"]),
        id,
        "one contact per e-mail identity"
    );
    let v = w
        .app
        .ok(
            Some(&w.gateway),
            "mutation($id: UUID!, $s: UUID!) { handOffToService(attendanceId: $id, serviceId: $s) { status service { id } } }",
            json!({"id": id, "s": w.service}),
        )
        .await;
    assert_eq!(v["handOffToService"]["status"], "WAITING");
    // Not logged in yet, so the router cannot give it the waiting attendance first.
    let email = format!("agent-{}@example.com", Uuid::new_v4().simple());
    let agent = w
        .app
        .register_agent(&email, Role::Agent, vec![w.service])
        .await;
    let v = w
        .app
        .ok(
            Some(&w.admin),
            "mutation($id: UUID!, $to: UUID!) { transferAttendance(attendanceId: $id, toAgentId: $to) { status agent { id } } }",
            json!({"id": id, "to": agent}),
        )
        .await;
    assert_eq!(v["transferAttendance"]["status"], "IN_PROGRESS");
    assert_eq!(uuid(&v["transferAttendance"]["agent"]["id"]), agent);
    let both = w
        .app
        .graphql(
            Some(&w.admin),
            "mutation($id: UUID!, $to: UUID!) { transferAttendance(attendanceId: $id, toAgentId: $to, toServiceId: $to) { id } }",
            json!({"id": id, "to": agent}),
        )
        .await;
    assert_eq!(error_code(&both), "VALIDATION");
    let token = w.app.login(&email).await;
    let mine = w
        .app
        .ok(
            Some(&token),
            "{ myAttendances { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(uuid(&mine["myAttendances"]["nodes"][0]["id"]), id);
}

#[tokio::test]
async fn a_repeated_message_idempotency_key_sends_once() {
    let w = world().await;
    let (_, _, token) = w.agent().await;
    let ana = w.contact(&token, "Ana", "11987654321").await;
    let a = w.taken(&token, ana).await;
    let send = "mutation($id: UUID!) { sendMessage(attendanceId: $id, input: {text: \"Tudo certo?\"}, idempotencyKey: \"m-1\") {
        id author text agent { id } } }";
    let first = w.app.ok(Some(&token), send, json!({"id": a})).await;
    let again = w.app.ok(Some(&token), send, json!({"id": a})).await;
    assert_eq!(first["sendMessage"]["id"], again["sendMessage"]["id"]);
    assert_eq!(first["sendMessage"]["text"], "Tudo certo?");
    let data = w
        .app
        .ok(Some(&token), "query($id: UUID!) { attendance(id: $id) { messages { totalCount } lastMessagePreview } }", json!({"id": a}))
        .await;
    assert_eq!(
        data["attendance"]["messages"]["totalCount"], 2,
        "the opening message and one more"
    );
    assert_eq!(data["attendance"]["lastMessagePreview"], "Tudo certo?");
}

/// A mutation answers with the rows its own commit wrote (`AttendanceRow::written`,
/// `MessageRow::written`), not a read of them: every field must equal what a query reads back
/// right after, times included (the columns keep microseconds).
#[tokio::test]
async fn a_mutation_answers_exactly_what_a_query_reads_back() {
    const FIELDS: &str = "id protocol channel direction status destinationType flowId
        service { id } agent { id } openedBy { id } contact { id } account { id }
        openedAt lastInteractionAt lastMessagePreview finalizedAt finalizeReason surveyRequested";
    const MESSAGE: &str = "id attendanceId author agent { id } text
        template { variables template { id } } attachments { id fileName } at";
    let w = world().await;
    let (_, _, token) = w.agent().await;
    let read_back = |id: Uuid| {
        let app = &w.app;
        let admin = &w.admin;
        async move {
            app.ok(
                Some(admin),
                &format!(
                    "query($id: UUID!) {{ attendance(id: $id) {{ {FIELDS}
                       messages(first: 50) {{ nodes {{ {MESSAGE} }} }} }} }}"
                ),
                json!({"id": id}),
            )
            .await["attendance"]
                .clone()
        }
    };
    let without_messages = |mut v: Value| {
        v.as_object_mut().unwrap().remove("messages");
        v
    };
    let contact = w.contact(&token, "Ana Souza", "11987654321").await;
    let id = w.taken(&token, contact).await;

    // The customer answers (the WhatsApp window opens): the gateway's answer.
    let v = w
        .app
        .ok(
            Some(&w.gateway),
            &format!("mutation($i: InboundMessageInput!) {{ receiveInboundMessage(input: $i) {{ {FIELDS} }} }}"),
            json!({"i": {"accountId": w.account, "channel": "WHATSAPP", "from": "+5511987654321",
                         "text": "Oi de novo"}}),
        )
        .await;
    assert_eq!(uuid(&v["receiveInboundMessage"]["id"]), id);
    assert_eq!(
        v["receiveInboundMessage"],
        without_messages(read_back(id).await)
    );
    assert_eq!(
        v["receiveInboundMessage"]["lastMessagePreview"],
        "Oi de novo"
    );

    // The agent's message.
    let v = w
        .app
        .ok(
            Some(&token),
            &format!(
                "mutation($id: UUID!) {{ sendMessage(attendanceId: $id, input: {{ text: \"Já vejo\" }}) {{ {MESSAGE} }} }}"
            ),
            json!({"id": id}),
        )
        .await;
    let back = read_back(id).await;
    let last = back["messages"]["nodes"]
        .as_array()
        .unwrap()
        .last()
        .cloned();
    assert_eq!(Some(v["sendMessage"].clone()), last);
    assert_eq!(v["sendMessage"]["text"], "Já vejo");

    for mutation in ["markPending", "rescueAttendance", "finalizeAttendance"] {
        let v = w
            .app
            .ok(
                Some(&token),
                &format!("mutation($id: UUID!) {{ {mutation}(attendanceId: $id) {{ {FIELDS} }} }}"),
                json!({"id": id}),
            )
            .await;
        assert_eq!(
            v[mutation],
            without_messages(read_back(id).await),
            "{mutation}"
        );
    }
}
