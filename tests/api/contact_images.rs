//! Contact and agent images over HTTP: multipart uploads recognised by their content (PNG, JPEG,
//! WebP; anything else is VALIDATION whatever its name or claimed type), the 5 MiB limit, the
//! signed, expiring `/files` URL that serves them (with `nosniff`), clearing, and `changeImage`
//! gated by the panel settings. A refused upload stores nothing.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::app::{error_code, spawn_app, TestApp};
use crate::helpers::upload::{multipart, FilePart};

/// A 1×1 PNG: signature, IHDR, IDAT and IEND chunks with their CRCs.
const PNG: &[u8] = b"\x89PNG\x0d\x0a\x1a\x0a\
    \x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x04\x00\x00\x00\xb5\x1c\x0c\x02\
    \x00\x00\x00\x0bIDATx\xdacd\x60\x00\x00\x00\x06\x00\x020\x81\xd0\x2f\
    \x00\x00\x00\x00IEND\xaeB\x60\x82";

/// A JPEG's frame: start of image, a JFIF APP0 segment, end of image.
const JPEG: &[u8] = b"\xff\xd8\
    \xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\
    \xff\xd9";

/// A 1×1 lossless WebP: the RIFF header (size of what follows) and one VP8L chunk.
const WEBP: &[u8] = b"RIFF\x1a\x00\x00\x00WEBP\
    VP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00";

/// The image limit of the contract: 5 MiB.
const FIVE_MIB: usize = 5 * 1024 * 1024;

const SET_IMAGE: &str = "mutation($id: UUID!, $image: Upload) {
    setContactImage(id: $id, image: $image) { id imageUrl version } }";

const CHANGE_IMAGE: &str =
    "mutation($image: Upload!) { changeImage(image: $image) { id imageUrl } }";

/// An agent's token and a contact of its account.
async fn agent_with_contact(app: &TestApp) -> (String, Uuid) {
    let admin = app.admin().await;
    let (account, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let data = app
        .ok(
            Some(&agent),
            "mutation($i: RegisterContactInput!) { registerContact(input: $i) { id } }",
            json!({"i": {"accountId": account, "name": "Rita"}}),
        )
        .await;
    let id = data["registerContact"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (agent, id)
}

/// `setContactImage` with one uploaded file (its name and claimed type are the client's word).
async fn upload_contact_image(
    app: &TestApp,
    token: &str,
    contact: Uuid,
    name: &str,
    claimed_type: &str,
    bytes: &[u8],
) -> Value {
    let file = FilePart {
        variable: "image",
        name,
        claimed_type,
        bytes,
    };
    multipart(
        app,
        token,
        SET_IMAGE,
        json!({"id": contact, "image": null}),
        &[file],
    )
    .await
}

/// The image URL a successful `setContactImage` returned, made absolute.
fn image_url(app: &TestApp, v: &Value) -> String {
    assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
    app.url(v["data"]["setContactImage"]["imageUrl"].as_str().unwrap())
}

async fn stored_blobs(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM blobs")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// The first error's invalid fields.
fn invalid_fields(v: &Value) -> Vec<String> {
    v["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields in {v:#}"))
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn png_jpeg_and_webp_are_recognised_by_content_and_served_with_their_type() {
    let app = spawn_app().await;
    let (agent, contact) = agent_with_contact(&app).await;
    let images = [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
    ];
    for (i, (bytes, content_type)) in images.into_iter().enumerate() {
        // Neither the name nor the claimed type says what it is: the bytes do.
        let v = upload_contact_image(
            &app,
            &agent,
            contact,
            "photo.bin",
            "application/octet-stream",
            bytes,
        )
        .await;
        let url = image_url(&app, &v);
        assert_eq!(v["data"]["setContactImage"]["version"], i + 2);
        let res = reqwest::get(&url).await.unwrap();
        assert_eq!(res.status(), 200, "{content_type}");
        assert_eq!(res.headers()["content-type"], content_type);
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.bytes().await.unwrap().as_ref(), bytes);
    }
}

#[tokio::test]
async fn a_text_file_named_png_is_invalid_and_an_image_over_5_mib_exceeds_the_limit() {
    let app = spawn_app().await;
    let (agent, contact) = agent_with_contact(&app).await;
    let text = upload_contact_image(
        &app,
        &agent,
        contact,
        "photo.png",
        "image/png",
        b"just some text, not an image",
    )
    .await;
    assert_eq!(error_code(&text), "VALIDATION");
    assert_eq!(invalid_fields(&text), ["image"]);

    let mut too_big = PNG.to_vec();
    too_big.resize(FIVE_MIB + 1, 0);
    let v = upload_contact_image(&app, &agent, contact, "big.png", "image/png", &too_big).await;
    assert_eq!(error_code(&v), "LIMIT_EXCEEDED");
    assert_eq!(
        stored_blobs(&app).await,
        0,
        "a refused upload stores nothing"
    );

    // Exactly 5 MiB is within the limit.
    too_big.truncate(FIVE_MIB);
    let v = upload_contact_image(&app, &agent, contact, "big.png", "image/png", &too_big).await;
    let res = reqwest::get(image_url(&app, &v)).await.unwrap();
    assert_eq!(res.bytes().await.unwrap().len(), FIVE_MIB);
}

#[tokio::test]
async fn a_tampered_or_expired_image_url_is_refused_and_clearing_removes_the_image() {
    let app = spawn_app().await;
    let (agent, contact) = agent_with_contact(&app).await;
    let png = image_url(
        &app,
        &upload_contact_image(&app, &agent, contact, "a.png", "image/png", PNG).await,
    );
    let jpeg = image_url(
        &app,
        &upload_contact_image(&app, &agent, contact, "b.jpg", "image/jpeg", JPEG).await,
    );
    assert_eq!(reqwest::get(&png).await.unwrap().status(), 200);

    let status = |url: String| async move { reqwest::get(&url).await.unwrap().status() };
    let (path, query) = png.split_once('?').unwrap();
    let (expires, sig) = query.split_once("&sig=").unwrap();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    // Another signature, a later expiry, or another file under this signature: all refused.
    assert_eq!(
        status(format!("{path}?{expires}&sig={flipped}{}", &sig[1..])).await,
        403
    );
    let later: i64 = expires
        .trim_start_matches("expires=")
        .parse::<i64>()
        .unwrap()
        + 3600;
    assert_eq!(
        status(format!("{path}?expires={later}&sig={sig}")).await,
        403
    );
    let jpeg_path = jpeg.split_once('?').unwrap().0;
    assert_eq!(status(format!("{jpeg_path}?{query}")).await, 403);

    // Past its lifetime the URL is refused; the contact read again gives a fresh one.
    app.clock
        .advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    assert_eq!(status(jpeg.clone()).await, 403);
    let q = "query($id: UUID!) { contact(id: $id) { imageUrl } }";
    let fresh = app.ok(Some(&agent), q, json!({"id": contact})).await;
    let fresh = app.url(fresh["contact"]["imageUrl"].as_str().unwrap());
    assert_ne!(fresh, jpeg);
    assert_eq!(status(fresh).await, 200);

    let cleared = app
        .ok(
            Some(&agent),
            SET_IMAGE,
            json!({"id": contact, "image": null}),
        )
        .await;
    assert!(cleared["setContactImage"]["imageUrl"].is_null());
    assert_eq!(cleared["setContactImage"]["version"], 4);
}

#[tokio::test]
async fn an_agent_outside_the_contacts_account_gets_not_found_and_stores_nothing() {
    let app = spawn_app().await;
    let (_, contact) = agent_with_contact(&app).await;
    let admin = app.admin().await;
    let (_, other_service) = app.account_with_service(&admin).await;
    let (_, outsider) = app.agent_in(other_service).await;
    let v = upload_contact_image(&app, &outsider, contact, "a.png", "image/png", PNG).await;
    assert_eq!(error_code(&v), "NOT_FOUND");
    assert_eq!(stored_blobs(&app).await, 0);
}

#[tokio::test]
async fn change_image_is_forbidden_while_the_settings_disallow_it_and_then_stores_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, service) = app.account_with_service(&admin).await;
    let (_, agent) = app.agent_in(service).await;
    let settings =
        "mutation($i: UpdateSettingsInput!) { updateSettings(input: $i) { allowImageChange } }";
    let png = FilePart {
        variable: "image",
        name: "me.png",
        claimed_type: "image/png",
        bytes: PNG,
    };

    app.ok(
        Some(&admin),
        settings,
        json!({"i": {"allowImageChange": false}}),
    )
    .await;
    let v = multipart(&app, &agent, CHANGE_IMAGE, json!({"image": null}), &[png]).await;
    assert_eq!(error_code(&v), "FORBIDDEN");
    assert_eq!(
        stored_blobs(&app).await,
        0,
        "a forbidden change stores nothing"
    );

    app.ok(
        Some(&admin),
        settings,
        json!({"i": {"allowImageChange": true}}),
    )
    .await;
    let v = multipart(&app, &agent, CHANGE_IMAGE, json!({"image": null}), &[png]).await;
    assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
    let url = app.url(v["data"]["changeImage"]["imageUrl"].as_str().unwrap());
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);

    let text = FilePart {
        variable: "image",
        name: "me.png",
        claimed_type: "image/png",
        bytes: b"GIF89a: an image, but not of the accepted types",
    };
    let v = multipart(&app, &agent, CHANGE_IMAGE, json!({"image": null}), &[text]).await;
    assert_eq!(error_code(&v), "VALIDATION");
    assert_eq!(invalid_fields(&v), ["image"]);
}
