//! File sources read through an in-memory repository: renamed columns and keys,
//! malformed rows skipped with their line, whole-file problems as errors.

use std::sync::Arc;

use super::*;
use crate::config;
use crate::config::files::MemFiles;
use crate::model::RecordKind;

const WORKSPACE: &str = "version: 1\nworkspace: t\n";

async fn fetch(source_yaml: &str, data: &[(&str, &str)]) -> Result<Batch, SourceError> {
    let mut files = MemFiles::default().with("hrsync.yaml", WORKSPACE).with("sources/s.yaml", source_yaml);
    for (path, content) in data {
        files = files.with(path, content);
    }
    let cfg = match config::load(&files) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let source = build(&cfg.sources[0], Arc::new(files));
    match source.fetch(&FetchRequest::default()).await? {
        Fetch::Records(b) => Ok(b),
        Fetch::Skip { reason } => panic!("skip: {reason}"),
    }
}

const CSV_SOURCE: &str = "version: 1\ntype: csv\npath: p.csv\ndelimiter: \";\"\ndate_format: \"%d.%m.%Y\"\ncolumns: { employee_number: Nr, first_name: Vorname, start_date: Beginn, custom.cost_center: KST }\nvalues: { employment_status: { Aktiv: active } }\norg_units: { path: ou.csv, columns: { id: Code, name: Name } }\n";

#[tokio::test]
async fn csv_reads_renamed_columns_and_skips_bad_rows_with_their_line() {
    let csv = "Nr;Vorname;Beginn;employment_status;KST\n\
               1;Ada;01.02.2024;Aktiv;4711\n\
               2;Bo;31.02.2024;Aktiv;\n\
               3;Cy\n\
               \n\
               ;NoId;;;\n\
               1;Dup;;;\n\
               4;Dee;;gone;\n";
    let batch =
        fetch(CSV_SOURCE, &[("p.csv", csv), ("ou.csv", "Code;Name\nU1;Platform\nU2;\n")]).await.unwrap();
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["1"]);
    let ada = &batch.people[0];
    assert_eq!(ada.first_name.as_deref(), Some("Ada"));
    assert_eq!(ada.start_date, "2024-02-01".parse().ok());
    assert_eq!(ada.custom.get("cost_center").map(String::as_str), Some("4711"));
    assert_eq!(ada.location.to_string(), "p.csv:2");
    let skipped: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        skipped,
        [
            "p.csv:3: person skipped: start_date is not a valid date in the form `%d.%m.%Y`",
            "p.csv:4: person skipped: expected 5 columns, found 2",
            "p.csv:6: person skipped: the record has neither an id nor an employee_number",
            "p.csv:8: person skipped: employment_status is not one of active, pending, leave, terminated; map the source's value under `values` in the source",
            "ou.csv:3: org unit skipped: an org unit needs an id and a name",
            "p.csv:7: person skipped: duplicate id: the same id is already at p.csv:2",
        ]
    );
    assert_eq!(batch.org_units.len(), 1);
    assert_eq!(batch.skipped.iter().filter(|s| s.kind == RecordKind::Employee).count(), 5);
}

#[tokio::test]
async fn a_skipped_person_keeps_what_could_be_read_of_them() {
    let csv =
        "Nr;Vorname;Beginn;employment_status;KST\n1;Ada;01.02.2024;Aktiv;4711\n2;Bo;31.02.2024;Aktiv;\n";
    let batch = fetch(CSV_SOURCE, &[("p.csv", csv), ("ou.csv", "Code;Name\n")]).await.unwrap();
    let bo = batch.skipped[0].partial.as_deref().expect("what was readable of the skipped row");
    assert_eq!((bo.id.as_str(), bo.first_name.as_deref(), bo.start_date), ("2", Some("Bo"), None));
    assert_eq!(batch.incomplete, None, "one bad date is not an incomplete read");
    let json = serde_json::to_string(&batch.skipped[0]).unwrap();
    assert!(!json.contains("Bo") && !json.contains("partial"), "never serialized: {json}");
}

#[tokio::test]
async fn an_unbalanced_quote_makes_the_read_incomplete() {
    let mut csv = "Nr;Vorname;Beginn;employment_status;KST\n1;\"Ada;01.02.2024;Aktiv;4711\n".to_owned();
    for i in 2..40 {
        csv.push_str(&format!("{i};P{i};01.02.2024;Aktiv;\n"));
    }
    let batch = fetch(CSV_SOURCE, &[("p.csv", &csv), ("ou.csv", "Code;Name\n")]).await.unwrap();
    assert!(batch.people.len() < 5, "the rows after the quote are one cell: {}", batch.people.len());
    let why = batch.incomplete.expect("incomplete");
    assert_eq!(
        why,
        "the record at line 2 of `p.csv` spans 39 lines; an unbalanced quote may have joined the rows after it into one cell"
    );
    // A cell with a line break or two is not a problem.
    let address = "Nr;Vorname;Beginn;employment_status;KST\n1;\"Ada\nLovelace\";01.02.2024;Aktiv;4711\n2;Bo;01.02.2024;Aktiv;\n";
    let batch = fetch(CSV_SOURCE, &[("p.csv", address), ("ou.csv", "Code;Name\n")]).await.unwrap();
    assert_eq!((batch.people.len(), batch.incomplete), (2, None));
}

#[tokio::test]
async fn a_quote_that_closes_a_few_rows_later_skips_the_joined_record_and_keeps_who_it_is() {
    // The quote opens in the name cell of line 2 and closes in the name cell of line 4:
    // the record has five cells, as a row should, but line 3's person is inside it.
    let csv = "Nr;Vorname;Beginn;employment_status;KST\n\
               1;\"Ada;01.02.2024;Aktiv;4711\n\
               2;Bo;01.02.2024;Aktiv;4711\n\
               3;Cy\";01.02.2024;Aktiv;4711\n\
               4;Dee;01.02.2024;Aktiv;4711\n";
    let batch = fetch(CSV_SOURCE, &[("p.csv", csv), ("ou.csv", "Code;Name\n")]).await.unwrap();
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["4"], "the joined record is not a person");
    assert_eq!(batch.skipped.len(), 1, "{:?}", batch.skipped);
    assert_eq!(
        batch.skipped[0].to_string(),
        "p.csv:2: person skipped: a cell with line breaks holds as many delimiters as a whole row; an unbalanced quote may have joined rows into this one"
    );
    assert_eq!(batch.skipped[0].partial.as_deref().map(|p| p.id.as_str()), Some("1"));
}

#[tokio::test]
async fn rows_with_the_wrong_number_of_cells_or_a_huge_cell_keep_who_they_are() {
    let huge = "x".repeat(csv::MAX_CELL_BYTES + 1);
    let csv = format!(
        "Nr;Vorname;Beginn;employment_status;KST\n1;Ada;01.02.2024;Aktiv;4711;extra\n2;{huge};01.02.2024;Aktiv;\n3;Cy;01.02.2024;Aktiv;\n"
    );
    let batch = fetch(CSV_SOURCE, &[("p.csv", &csv), ("ou.csv", "Code;Name\n")]).await.unwrap();
    assert_eq!(batch.people.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["3"]);
    let skipped: Vec<(String, Option<&str>)> =
        batch.skipped.iter().map(|s| (s.to_string(), s.partial.as_deref().map(|p| p.id.as_str()))).collect();
    assert_eq!(
        skipped,
        [
            ("p.csv:2: person skipped: expected 5 columns, found 6".to_owned(), Some("1")),
            (
                format!(
                    "p.csv:3: person skipped: cell 2 is {} bytes long, more than the 65536 a cell may hold; an unbalanced quote may have joined the rows after it into it",
                    huge.len()
                ),
                Some("2")
            ),
        ]
    );
}

#[tokio::test]
async fn a_skipped_employment_names_the_person_it_belongs_to() {
    let source = "version: 1\ntype: csv\npath: p.csv\nemployments: { path: e.csv }\n";
    let batch = fetch(
        source,
        &[
            ("p.csv", "id,first_name\n1,Ada\n2,Bo\n"),
            ("e.csv", "id,person,start_date,end_date\nE1,1,2020-01-01,2024-12-31\nE2,1,2025-13-01,\nE3,2\n"),
        ],
    )
    .await
    .unwrap();
    let skipped: Vec<(String, Option<&str>)> =
        batch.skipped.iter().map(|s| (s.to_string(), s.partial.as_deref().map(|p| p.id.as_str()))).collect();
    assert_eq!(
        skipped,
        [
            (
                "e.csv:3: employment skipped: start_date is not a valid date in the form `%Y-%m-%d`"
                    .to_owned(),
                Some("1")
            ),
            ("e.csv:4: employment skipped: expected 4 columns, found 2".to_owned(), Some("2")),
        ]
    );
}

#[tokio::test]
async fn csv_without_a_renamed_column_fails_as_a_whole() {
    let err =
        fetch(CSV_SOURCE, &[("p.csv", "Nr;Vorname\n1;Ada\n"), ("ou.csv", "Code;Name\n")]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "`p.csv`: columns `KST` (for custom.cost_center), `Beginn` (for start_date) are missing"
    );
    let err = fetch(CSV_SOURCE, &[("ou.csv", "Code;Name\n")]).await.unwrap_err();
    assert_eq!(err.to_string(), "cannot read `p.csv`");
}

#[tokio::test]
async fn json_reads_nested_keys_and_skips_bad_items() {
    let source = "version: 1\ntype: json\npath: p.json\npeople: /staff\nfields: { employee_number: matricule, work_email: contact.email }\nemployments: { pointer: /contracts, fields: { person: who } }\n";
    let data = r#"{"staff": [
        {"matricule": 7, "contact": {"email": " a@x.test "}, "first_name": "Ann", "start_date": null},
        "not an object",
        {"matricule": "8", "contact": {"email": ["a", "b"]}},
        {"matricule": "9", "start_date": "2026-13-01"}
    ], "contracts": [{"id": "C1", "who": "7", "employment_type": "employee", "start_date": "2020-01-01"}, {"id": "C2"}]}"#;
    let batch = fetch(source, &[("p.json", data)]).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    assert_eq!(batch.people[0].id, "7");
    assert_eq!(batch.people[0].work_email.as_deref(), Some("a@x.test"));
    let skipped: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        skipped,
        [
            "p.json:2: person skipped: the item is not an object",
            "p.json:3: person skipped: `contact.email` is a list or object, not a text value",
            "p.json:4: person skipped: start_date is not a valid date in the form `%Y-%m-%d`",
            "p.json:2: employment skipped: an employment needs an id and a person",
        ]
    );
    assert_eq!(batch.employments.len(), 1);
    let err = fetch(source, &[("p.json", "{\"staff\": 3}")]).await.unwrap_err();
    assert_eq!(err.to_string(), "`p.json`: `/staff` is not an array");
    let err = fetch(source, &[("p.json", "{oops")]).await.unwrap_err();
    assert_eq!(err.to_string(), "`p.json`: not valid JSON: key must be a string (line 1, column 2)");
}

#[tokio::test]
async fn json_nested_too_deep_or_too_large_fails_with_its_position() {
    let source = "version: 1\ntype: json\npath: p.json\n";
    // Deeper than the limit (and than serde_json's own 128): an error with the line and
    // column of the bracket that opens level 65, not a stack overflow.
    let deep = format!("{{\"people\": [\n{}{}]}}", "[".repeat(10_000), "]".repeat(10_000));
    let err = fetch(source, &[("p.json", &deep)]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "`p.json`: nests arrays and objects deeper than 64 levels (line 2, column 63)"
    );
    // Brackets inside strings do not count; exactly 64 levels are read.
    let strings =
        format!("{{\"people\": [{{\"first_name\": \"{}\", \"id\": \"1\"}}]}}", "[{\\\"".repeat(100));
    assert_eq!(fetch(source, &[("p.json", &strings)]).await.unwrap().people.len(), 1);
    let at_limit = format!("{{\"people\": [{}{}]}}", "[".repeat(62), "]".repeat(62));
    let batch = fetch(source, &[("p.json", &at_limit)]).await.unwrap();
    assert_eq!(batch.skipped.len(), 1, "the item is not an object");
    // The size limit, scaled down (the real one is 256 MiB).
    let err = json::parse_within(b"[1, 2, 3]", 8, 64).unwrap_err();
    assert_eq!(err, "the file is 9 bytes; hrsync reads JSON files of at most 8 bytes");
    assert!(json::parse_within(b"[1, 2, 3]", 9, 64).is_ok());
    assert_eq!(json::MAX_JSON_BYTES, 256 << 20);
}

// -- rest ------------------------------------------------------------------------------

mod rest {
    use serde_json::json;
    use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    async fn fetch_rest(source_yaml: &str, since: Option<&str>) -> Result<Batch, SourceError> {
        let files = MemFiles::default().with("hrsync.yaml", WORKSPACE).with("sources/s.yaml", source_yaml);
        let cfg = match config::load(&files) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let source = build(&cfg.sources[0], Arc::new(files));
        let request = FetchRequest { since: since.map(|s| s.parse().unwrap()), ..FetchRequest::default() };
        match source.fetch(&request).await? {
            Fetch::Records(b) => Ok(b),
            Fetch::Skip { reason } => panic!("skip: {reason}"),
        }
    }

    fn person(n: u64) -> serde_json::Value {
        json!({"id": n, "name": {"first": format!("P{n}")}, "work": {"email": format!("p{n}@acme.example")}})
    }

    /// A secret reference to a file holding `value`.
    fn secret_file(dir: &tempfile::TempDir, value: &str) -> String {
        let path = dir.path().join("token");
        std::fs::write(&path, value).unwrap();
        format!("\"${{file:{}}}\"", path.display())
    }

    const FIELDS: &str = "fields: { employee_number: id, first_name: name.first, work_email: work.email }\n";

    #[tokio::test]
    async fn numbered_pages_with_a_token_until_a_short_page() {
        let server = MockServer::start().await;
        let page = |n: &str, body: serde_json::Value| {
            Mock::given(method("GET"))
                .and(path("/api/v1/employees"))
                .and(header("authorization", "Bearer tok-123"))
                .and(query_param("status", "all"))
                .and(query_param("page", n))
                .and(query_param("per_page", "2"))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
        };
        let bad = json!({"id": 4, "name": {"first": ["not", "text"]}});
        page("1", json!({"data": [person(1), person(2)], "meta": {"total": "5"}})).mount(&server).await;
        // The API answers 429 once before giving page 2.
        Mock::given(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        page("2", json!({"data": [person(3), bad]})).mount(&server).await;
        page("3", json!({"data": [person(5)]})).mount(&server).await;
        let secrets = tempfile::tempdir().unwrap();
        let yaml = format!(
            "version: 1\ntype: rest\nconnection: {{ url: \"{}/api/v1/employees\", token: {}, page_size: 2 }}\nquery: {{ status: all }}\npagination: {{ style: page }}\ntotal: /meta/total\n{FIELDS}",
            server.uri(),
            secret_file(&secrets, "tok-123")
        );
        let batch = fetch_rest(&yaml, None).await.unwrap();
        let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "5"]);
        assert_eq!(batch.people[3].work_email.as_deref(), Some("p5@acme.example"));
        assert_eq!(batch.people[3].location.to_string(), format!("{}/api/v1/employees:5", server.uri()));
        let skipped: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            skipped,
            [format!(
                "{}/api/v1/employees:4: person skipped: `name.first` is a list or object, not a text value",
                server.uri()
            )]
        );
        assert_eq!(batch.incomplete, None, "5 announced, 5 read (one of them skipped)");
        assert_eq!(batch.completeness, Completeness::Full);
        assert_eq!(server.received_requests().await.unwrap().len(), 4, "three pages and one retry");
    }

    #[tokio::test]
    async fn an_api_that_caps_the_page_size_is_read_to_the_end() {
        let server = MockServer::start().await;
        // Asked for 100 per page, it gives 2, then 2, then 1.
        for (offset, people) in
            [("0", vec![person(1), person(2)]), ("2", vec![person(3), person(4)]), ("4", vec![person(5)])]
        {
            Mock::given(query_param("offset", offset))
                .and(query_param("limit", "100"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!(people)))
                .mount(&server)
                .await;
        }
        let yaml = format!(
            "version: 1\ntype: rest\nconnection: {{ url: \"{}/people\" }}\npagination: {{ style: offset }}\n{FIELDS}",
            server.uri()
        );
        let batch = fetch_rest(&yaml, None).await.unwrap();
        assert_eq!(batch.people.len(), 5);
    }

    #[tokio::test]
    async fn cursors_are_followed_and_a_count_that_does_not_add_up_is_incomplete() {
        let server = MockServer::start().await;
        Mock::given(query_param_is_missing("cursor"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"results": [person(1), person(2)], "next": "c2", "count": 4})),
            )
            .mount(&server)
            .await;
        Mock::given(query_param("cursor", "c2"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"results": [person(3)], "next": null})),
            )
            .mount(&server)
            .await;
        let yaml = format!(
            "version: 1\ntype: rest\nconnection: {{ url: \"{}/v2/people\" }}\nrecords: /results\npagination: {{ style: cursor, next: /next }}\ntotal: /count\n{FIELDS}",
            server.uri()
        );
        let batch = fetch_rest(&yaml, None).await.unwrap();
        assert_eq!(batch.people.len(), 3);
        assert_eq!(
            batch.incomplete.as_deref(),
            Some(format!("the API announced 4 records at {}/v2/people and gave 3", server.uri()).as_str())
        );
    }

    #[tokio::test]
    async fn link_headers_are_followed_and_a_delta_asks_for_changes_since_the_last_sync() {
        let server = MockServer::start().await;
        let next = format!("<{}/people?page=2&updated_since=x>; rel=\"next\"", server.uri());
        Mock::given(query_param_is_missing("page"))
            .and(query_param("updated_since", "2026-11-20T06:00:00Z"))
            .respond_with(
                ResponseTemplate::new(200).insert_header("Link", next).set_body_json(json!([person(1)])),
            )
            .mount(&server)
            .await;
        Mock::given(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([person(2)])))
            .mount(&server)
            .await;
        let yaml = format!(
            "version: 1\ntype: rest\ndelta: true\nsince_param: updated_since\nconnection: {{ url: \"{}/people\" }}\npagination: {{ style: link }}\n{FIELDS}",
            server.uri()
        );
        let batch = fetch_rest(&yaml, Some("2026-11-20T06:00:00Z")).await.unwrap();
        assert_eq!(batch.people.len(), 2);
        assert_eq!(batch.completeness, Completeness::Delta);
    }

    #[tokio::test]
    async fn a_page_nested_too_deep_fails_with_the_position_not_a_stack_overflow() {
        let server = MockServer::start().await;
        let deep = format!("{{\"data\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        Mock::given(path("/deep"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(deep, "application/json"))
            .mount(&server)
            .await;
        let yaml =
            format!("version: 1\ntype: rest\nconnection: {{ url: \"{}/deep\" }}\n{FIELDS}", server.uri());
        let err = fetch_rest(&yaml, None).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`{}/deep`: page 1 is not JSON: recursion limit exceeded at line 1 column 136",
                server.uri()
            )
        );
    }

    #[tokio::test]
    async fn loops_refusals_and_wrong_shapes_fail_the_read_without_the_token() {
        let server = MockServer::start().await;
        Mock::given(path("/loop"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"data": [person(1)], "next": "same"})),
            )
            .mount(&server)
            .await;
        Mock::given(path("/same"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [person(1), person(2)]})))
            .mount(&server)
            .await;
        Mock::given(path("/secret"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "invalid token"})))
            .mount(&server)
            .await;
        Mock::given(path("/shape"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
            .mount(&server)
            .await;
        let secrets = tempfile::tempdir().unwrap();
        let token = secret_file(&secrets, "s3cr3t-token");
        let yaml = |endpoint: &str, pagination: &str| {
            format!(
                "version: 1\ntype: rest\nconnection: {{ url: \"{}{endpoint}\", token: {token} }}\npagination: {pagination}\n{FIELDS}",
                server.uri()
            )
        };
        let err = fetch_rest(&yaml("/loop", "{ style: cursor, next: /next }"), None).await.unwrap_err();
        assert!(err.to_string().contains("the API gave the same next page twice (after 2 pages)"), "{err}");
        let err = fetch_rest(&yaml("/same", "{ style: page }"), None).await.unwrap_err();
        assert!(err.to_string().contains("page 2 holds the same records as page 1"), "{err}");
        let err = fetch_rest(&yaml("/secret", "{ style: none }"), None).await.unwrap_err();
        let text = crate::model::error_chain(&err);
        assert!(text.contains("answered 401 Unauthorized: invalid token"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        let err = fetch_rest(&yaml("/shape", "{ style: none }"), None).await.unwrap_err();
        assert!(err.to_string().contains("page 1: there is no `/data`; set `records`"), "{err}");
    }

    #[tokio::test]
    async fn headers_and_secret_headers_are_sent_with_every_page() {
        let server = MockServer::start().await;
        for (cursor, people) in [(None, vec![person(1)]), (Some("c2"), vec![person(2)])] {
            let mock =
                Mock::given(header("x-integration-id", "acme-hris")).and(header("x-account-token", "acct-9"));
            let mock = match cursor {
                None => mock.and(query_param_is_missing("cursor")),
                Some(c) => mock.and(query_param("cursor", c)),
            };
            let next = if cursor.is_none() { json!("c2") } else { json!(null) };
            mock.respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"data": people, "next": next})),
            )
            .mount(&server)
            .await;
        }
        let secrets = tempfile::tempdir().unwrap();
        let yaml = format!(
            "version: 1\ntype: rest\nconnection: {{ url: \"{}/employees\" }}\nheaders: {{ X-Integration-Id: acme-hris }}\nsecret_headers: {{ X-Account-Token: {} }}\npagination: {{ style: cursor, next: /next }}\n{FIELDS}",
            server.uri(),
            secret_file(&secrets, "acct-9")
        );
        let batch = fetch_rest(&yaml, None).await.unwrap();
        assert_eq!(batch.people.len(), 2, "both pages carried both headers");
    }

    #[tokio::test]
    async fn employments_come_from_their_own_endpoint() {
        let server = MockServer::start().await;
        Mock::given(path("/people"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([person(1)])))
            .mount(&server)
            .await;
        let contracts = json!({"data": [
            {"contract_id": "C1", "employee": "1", "type": "employee", "start": "2020-01-01"},
            {"contract_id": "C2"}
        ]});
        Mock::given(path("/contracts"))
            .respond_with(ResponseTemplate::new(200).set_body_json(contracts))
            .mount(&server)
            .await;
        let yaml = format!(
            "version: 1\ntype: rest\nconnection: {{ url: \"{0}/people\" }}\nemployments: {{ url: \"{0}/contracts\", fields: {{ id: contract_id, person: employee, employment_type: type, start_date: start }} }}\n{FIELDS}",
            server.uri()
        );
        let batch = fetch_rest(&yaml, None).await.unwrap();
        assert_eq!(batch.employments.len(), 1);
        assert_eq!(batch.employments[0].person, "1");
        let skipped: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            skipped,
            [format!(
                "{}/contracts:2: employment skipped: an employment needs an id and a person",
                server.uri()
            )]
        );
    }

    #[test]
    fn the_source_file_is_checked() {
        let load = |yaml: &str| {
            let files = MemFiles::default().with("hrsync.yaml", WORKSPACE).with("sources/s.yaml", yaml);
            config::load(&files).err().map(|e| e.to_string()).unwrap_or_default()
        };
        let errors = load(
            "version: 1\ntype: rest\ndelta: true\nconnection: { url: \"ftp://x\", concurrency: 4 }\nrecords: data\npagination: { style: cursor }\nheaders: { Authorization: Basic x, X-Key: \"${env:KEY}\", X-Id: \"${ID}\" }\n",
        );
        for expected in [
            "`delta: true` needs `since_param`",
            "`ftp://x` is not an HTTP URL",
            "a REST source reads its pages one after the other",
            "`data` is not a JSON pointer",
            "`style: cursor` needs `next`",
            "the `Authorization` header comes from `connection.token`",
            // A reference where no secret goes (every document kind says so)…
            "`${env:…}` is not resolved here: only keys that hold a secret",
            // … and in a header, any `${`.
            "a secret reference in `headers` would be sent as written",
        ] {
            assert!(errors.contains(expected), "{expected}: {errors}");
        }
    }
}
