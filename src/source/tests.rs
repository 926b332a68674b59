//! File sources read through an in-memory repository: renamed columns and keys,
//! malformed rows skipped with their line, whole-file problems as errors.

use std::sync::Arc;

use super::*;
use crate::config;
use crate::model::RecordKind;
use crate::repo::MemFiles;

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
            "p.csv:8: person skipped: employment_status `gone` is not one of active, pending, leave, terminated; map it under `values` in the source",
            "ou.csv:3: org unit skipped: an org unit needs an id and a name",
            "p.csv:7: person skipped: duplicate id: the same id is already at p.csv:2",
        ]
    );
    assert_eq!(batch.org_units.len(), 1);
    assert_eq!(batch.skipped.iter().filter(|s| s.kind == RecordKind::Employee).count(), 5);
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
    assert!(err.to_string().starts_with("`p.json`: not valid JSON (line 1"), "{err}");
}
