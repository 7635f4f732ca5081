//! Contacts end to end over HTTP: registration with every field, validation with field paths,
//! the phone routing key (ninth digit included), partial updates, optimistic concurrency,
//! addresses, search and visibility.

use serde_json::json;

use crate::helpers::app::{error_code, spawn_app};

const REGISTER: &str = "mutation($i: RegisterContactInput!) { registerContact(input: $i) {
    id name version active phone { e164 ddi number formatted } phone2 { e164 }
    document { kind value formatted } email birthDate tags { name } addresses { id type cep uf city }
    account { id } } }";

#[tokio::test]
async fn an_agent_registers_a_contact_with_normalised_fields() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let data = app
        .ok(
            Some(&agent),
            REGISTER,
            json!({"i": {
                "accountId": account, "name": "  José da Silva  ", "phone": {"ddi": "55", "number": "(11) 98765-4321"},
                "document": "529.982.247-25", "email": "Jose@Example.com", "birthDate": "1980-05-17",
                "addresses": [{"type": "RESIDENTIAL", "cep": "01310-100", "street": "Av. Paulista", "number": "1000",
                               "neighborhood": "Bela Vista", "city": "São Paulo", "uf": "SP"}]
            }}),
        )
        .await;
    let c = &data["registerContact"];
    assert_eq!(c["name"], "José da Silva");
    assert_eq!(c["version"], 1);
    assert_eq!(c["active"], true);
    assert_eq!(c["phone"]["e164"], "+5511987654321");
    assert_eq!(c["phone"]["ddi"], "55");
    assert_eq!(c["document"]["kind"], "CPF");
    assert_eq!(c["document"]["value"], "52998224725");
    assert_eq!(c["document"]["formatted"], "529.982.247-25");
    assert_eq!(c["addresses"][0]["cep"], "01310100");
    assert_eq!(c["addresses"][0]["uf"], "SP");
    assert_eq!(c["account"]["id"], account.to_string());
}

#[tokio::test]
async fn invalid_fields_are_reported_with_their_paths_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let v = app
        .graphql(
            Some(&agent),
            REGISTER,
            json!({"i": {"accountId": account, "name": "Ana", "document": "529.982.247-26",
                          "addresses": [{"cep": "123", "street": "Rua A"}]}}),
        )
        .await;
    assert_eq!(error_code(&v), "VALIDATION");
    let fields: Vec<&str> = v["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"document"), "{fields:?}");
    assert!(fields.contains(&"addresses.0.cep"), "{fields:?}");
    assert!(fields.contains(&"addresses.0.number"), "{fields:?}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let agent_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Contact'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert!(count > 0);
    assert_eq!(agent_events, 0);
}

#[tokio::test]
async fn a_phone_with_or_without_the_ninth_digit_is_one_routing_key() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let first = app
        .ok(Some(&agent), REGISTER, json!({"i": {"accountId": account, "name": "A", "phone": {"ddi": "55", "number": "11987654321"}}}))
        .await;
    let first_id = first["registerContact"]["id"].as_str().unwrap().to_string();
    let v = app
        .graphql(Some(&agent), REGISTER, json!({"i": {"accountId": account, "name": "B", "phone": {"ddi": "+55", "number": "1187654321"}}}))
        .await;
    assert_eq!(error_code(&v), "CONFLICT");
    assert_eq!(v["errors"][0]["extensions"]["existingId"], first_id);
    // Phone 2 is never a routing key.
    app.ok(
        Some(&agent),
        REGISTER,
        json!({"i": {"accountId": account, "name": "C", "phone2": {"ddi": "55", "number": "11987654321"}}}),
    )
    .await;
}

#[tokio::test]
async fn concurrent_registrations_of_one_phone_cannot_both_win() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let attempts = (0..6).map(|i| {
        let app = &app;
        let agent = agent.clone();
        async move {
            app.graphql(
                Some(&agent),
                REGISTER,
                json!({"i": {"accountId": account, "name": format!("Racer {i}"), "phone": {"ddi": "55", "number": "21987650000"}}}),
            )
            .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.get("errors").is_none()).count();
    let conflicts = results
        .iter()
        .filter(|r| r.get("errors").is_some() && error_code(r) == "CONFLICT")
        .count();
    assert_eq!(won, 1, "{results:#?}");
    assert_eq!(conflicts, 5);
}

#[tokio::test]
async fn partial_update_keeps_absent_fields_clears_nulls_and_checks_the_version() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let created = app
        .ok(Some(&agent), REGISTER, json!({"i": {"accountId": account, "name": "Maria", "email": "m@example.com", "rg": "12.345.678-9"}}))
        .await;
    let id = created["registerContact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let update = "mutation($id: UUID!, $i: UpdateContactInput!, $v: Int) { updateContact(id: $id, input: $i, expectedVersion: $v) { name email rg version } }";
    let data = app
        .ok(
            Some(&agent),
            update,
            json!({"id": id, "i": {"email": null, "name": "Maria Souza"}, "v": 1}),
        )
        .await;
    assert_eq!(data["updateContact"]["name"], "Maria Souza");
    assert!(data["updateContact"]["email"].is_null());
    assert_eq!(data["updateContact"]["rg"], "12.345.678-9");
    assert_eq!(data["updateContact"]["version"], 2);
    let stale = app
        .graphql(
            Some(&agent),
            update,
            json!({"id": id, "i": {"name": "Other"}, "v": 1}),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");
}

#[tokio::test]
async fn search_is_accent_case_and_punctuation_insensitive_and_scoped_to_visible_accounts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    app.ok(
        Some(&agent),
        REGISTER,
        json!({"i": {"accountId": account, "name": "João Araújo", "document": "11.222.333/0001-81", "phone": {"ddi": "55", "number": "1134567890"}}}),
    )
    .await;
    let q = "query($f: ContactSearchField, $s: String) { contacts(field: $f, search: $s) { totalCount nodes { name } } }";
    for (field, term) in [
        ("NAME", "joao ARAUJO"),
        ("DOCUMENT", "11222333000181"),
        ("PHONE", "(11) 3456-7890"),
        ("ANY", "araujo"),
    ] {
        let d = app
            .ok(Some(&agent), q, json!({"f": field, "s": term}))
            .await;
        assert_eq!(d["contacts"]["totalCount"], 1, "{field} {term}");
    }
    // An agent of another account sees nothing of this one.
    let (_, other_service) = app.account_with_service(&admin).await;
    let (_, outsider) = app.agent_in(other_service).await;
    let d = app
        .ok(Some(&outsider), q, json!({"f": "ANY", "s": "joao"}))
        .await;
    assert_eq!(d["contacts"]["totalCount"], 0);
}

const ADDRESS_FIELDS: &str =
    "name version addresses { id type cep street number complement city uf location { latitude } }";

#[tokio::test]
async fn addresses_are_added_updated_and_removed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let home = json!({"type": "RESIDENTIAL", "cep": "01310-100", "street": "Av. Paulista", "number": "1000",
                      "neighborhood": "Bela Vista", "city": "São Paulo", "uf": "SP"});
    let created = app
        .ok(
            Some(&agent),
            REGISTER,
            json!({"i": {"accountId": account, "name": "Lia", "addresses": [home]}}),
        )
        .await;
    let id = created["registerContact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let home_before = app
        .ok(Some(&agent), "query($id: UUID!) { contact(id: $id) { addresses { id type cep street number complement city uf location { latitude } } } }", json!({"id": id}))
        .await["contact"]["addresses"][0]
        .clone();
    let office = json!({"type": "COMMERCIAL", "cep": "20040002", "street": "Rua da Assembleia", "number": "10",
                        "neighborhood": "Centro", "city": "Rio de Janeiro", "uf": "RJ", "location": {"latitude": -22.9, "longitude": -43.2}});
    let d = app
        .ok(Some(&agent), &format!("mutation($c: UUID!, $i: AddressInput!) {{ addContactAddress(contactId: $c, input: $i) {{ {ADDRESS_FIELDS} }} }}"), json!({"c": id, "i": office}))
        .await;
    let added = &d["addContactAddress"];
    assert_eq!(added["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(added["addresses"][1]["city"], "Rio de Janeiro");
    let office_id = added["addresses"][1]["id"].as_str().unwrap().to_string();
    let bad = app
        .graphql(Some(&agent), "mutation($c: UUID!, $i: AddressInput!) { addContactAddress(contactId: $c, input: $i) { id } }", json!({"c": id, "i": {"city": "X"}}))
        .await;
    assert_eq!(error_code(&bad), "VALIDATION");

    // Updating replaces that one address as given; the other address and the contact stay.
    let update = format!("mutation($c: UUID!, $a: UUID!, $i: AddressInput!) {{ updateContactAddress(contactId: $c, addressId: $a, input: $i) {{ {ADDRESS_FIELDS} }} }}");
    let mut moved = office.clone();
    moved["number"] = json!("20");
    moved["complement"] = json!("sala 301");
    let d = app
        .ok(
            Some(&agent),
            &update,
            json!({"c": id, "a": office_id, "i": moved}),
        )
        .await;
    let updated = &d["updateContactAddress"];
    assert_eq!(updated["version"], 3);
    assert_eq!(updated["name"], "Lia");
    assert_eq!(updated["addresses"][0], home_before);
    let office_after = &updated["addresses"][1];
    assert_eq!(office_after["id"], office_id.as_str());
    assert_eq!(office_after["number"], "20");
    assert_eq!(office_after["complement"], "sala 301");
    assert_eq!(office_after["street"], "Rua da Assembleia");
    assert_eq!(office_after["cep"], "20040002");
    assert_eq!(office_after["location"]["latitude"], -22.9);

    // Bad input names the address fields at fault, and changes nothing.
    let bad = app
        .graphql(
            Some(&agent),
            &update,
            json!({"c": id, "a": office_id, "i": {"cep": "123", "street": "Rua X"}}),
        )
        .await;
    assert_eq!(error_code(&bad), "VALIDATION");
    let fields: Vec<&str> = bad["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"cep"), "{fields:?}");
    assert!(fields.contains(&"number"), "{fields:?}");
    assert!(!fields.contains(&"street"), "{fields:?}");
    let unknown = app
        .graphql(
            Some(&agent),
            &update,
            json!({"c": id, "a": uuid::Uuid::new_v4(), "i": moved}),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");

    let d = app
        .ok(Some(&agent), "mutation($c: UUID!, $a: UUID!) { removeContactAddress(contactId: $c, addressId: $a) { addresses { id } version } }", json!({"c": id, "a": office_id}))
        .await;
    let left = d["removeContactAddress"]["addresses"].as_array().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], home_before["id"]);
    assert_eq!(d["removeContactAddress"]["version"], 4);
}

#[tokio::test]
async fn requests_without_a_token_are_unauthenticated() {
    let app = spawn_app().await;
    let v = app
        .graphql(None, "{ contacts { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
    let v = app
        .graphql(Some("not-a-token"), "{ me { id } }", json!({}))
        .await;
    assert_eq!(error_code(&v), "UNAUTHENTICATED");
}
