//! The rule sandbox's protections, each proven by a hostile script. CI runs this file in
//! both build profiles (`cargo test --test sandbox` and `cargo test --release --test
//! sandbox`), since the limits must hold the same in both.

use std::time::{Duration, Instant};

use podium::rules::fixtures::{run, TestInput};
use podium::rules::{Limits, RuleKind, RuleRunner, ScriptError};

fn runner() -> RuleRunner {
    RuleRunner::new(Limits::default(), 2)
}

/// Runs `body` as the body of `score` and answers its errors, timing the whole run.
fn fails(body: &str) -> (Vec<ScriptError>, Duration) {
    fails_with(&runner(), body)
}

fn fails_with(runner: &RuleRunner, body: &str) -> (Vec<ScriptError>, Duration) {
    let source = format!("fn score(participant, sales, ctx) {{\n{body}\n}}\n");
    let started = Instant::now();
    let outcome = run(runner, RuleKind::Objective, &source, &TestInput::default());
    let elapsed = started.elapsed();
    match outcome {
        Ok(output) => panic!("expected an error, got {output}"),
        Err(errors) => (errors, elapsed),
    }
}

fn message(errors: &[ScriptError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// "Fast" is generous on purpose: the limits stop a script in well under a second on this
/// machine in either profile; the bound only catches a protection that does not work.
const FAST: Duration = Duration::from_secs(5);

#[test]
fn an_endless_loop_runs_out_of_operations() {
    let (errors, elapsed) = fails("loop { }");
    assert!(
        message(&errors).contains("too many operations"),
        "{errors:?}"
    );
    assert!(elapsed < FAST, "{elapsed:?}");
}

#[test]
fn a_slow_script_runs_out_of_time() {
    let runner = RuleRunner::new(
        Limits {
            max_operations: u64::MAX,
            timeout: Duration::from_millis(100),
            ..Limits::default()
        },
        1,
    );
    let (errors, elapsed) = fails_with(&runner, "let x = 0; loop { x += 1; }");
    assert!(message(&errors).contains("ran out of time"), "{errors:?}");
    assert!(elapsed < FAST, "{elapsed:?}");
}

#[test]
fn there_is_no_sleep_no_clock_no_printing_to_stdout() {
    for call in ["sleep(10)", "timestamp()", "exit(1)", "parse_json(\"{}\")"] {
        let (errors, elapsed) = fails(call);
        assert!(
            message(&errors).contains("Function not found"),
            "{call}: {errors:?}"
        );
        assert!(elapsed < FAST);
    }
    // print and debug exist in the language but go nowhere; the rule still returns.
    let source = "fn score(participant, sales, ctx) { print(\"hello\"); debug(1); 7 }";
    let output = run(
        &runner(),
        RuleKind::Objective,
        source,
        &TestInput::default(),
    )
    .expect("runs");
    assert_eq!(output["score"], "7");
}

#[test]
fn eval_and_modules_are_refused_at_compile_time() {
    for body in [
        "eval(\"40 + 2\")",
        "import \"fs\" as fs; 1",
        "export const x = 1; x",
    ] {
        let (errors, _) = fails(body);
        assert_eq!(errors[0].line, Some(2), "{body}: {errors:?}");
    }
}

#[test]
fn deeply_nested_expressions_are_refused() {
    let nested = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    let (errors, elapsed) = fails(&nested);
    assert!(
        message(&errors).to_lowercase().contains("complexity"),
        "{errors:?}"
    );
    assert!(elapsed < FAST);
}

#[test]
fn strings_and_arrays_cannot_double_forever() {
    let (errors, elapsed) = fails("let s = \"ab\"; loop { s += s; }");
    assert!(message(&errors).contains("string"), "{errors:?}");
    assert!(elapsed < FAST);
    let (errors, elapsed) = fails("let a = [1]; loop { a += a; }");
    assert!(
        message(&errors).to_lowercase().contains("array"),
        "{errors:?}"
    );
    assert!(elapsed < FAST);
    let (errors, _) = fails("let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }");
    assert!(!errors.is_empty());
}

/// Every error a script makes at run time says where: Rhai's size checks carry no
/// position of their own, so the error takes the nearest one around it.
#[test]
fn size_and_stack_errors_name_their_line_and_column() {
    let (errors, _) = fails("let s = \"ab\";\nloop { s += s; }");
    assert!(
        errors[0].line.is_some() && errors[0].column.is_some(),
        "{errors:?}"
    );
    let source = "fn down(n) {\n  down(n + 1)\n}\nfn score(participant, sales, ctx) { down(0) }";
    let errors = run(
        &runner(),
        RuleKind::Objective,
        source,
        &TestInput::default(),
    )
    .expect_err("recursion must stop");
    assert!(
        errors[0].line.is_some() && errors[0].column.is_some(),
        "{errors:?}"
    );
}

/// The finding that could take the server down: one `replace` of two 40,000-character
/// strings asked for 1.6 GB at once and the allocation failure aborted the process. The
/// bounded `replace` counts its result first and refuses, at once.
#[test]
fn a_replace_that_would_explode_is_refused_before_it_allocates() {
    let (errors, elapsed) =
        fails("let s = \"\";\ns.pad(40000, \"y\");\nlet t = s;\nt.replace(\"y\", s);\nt.len()");
    assert!(message(&errors).contains("too large"), "{errors:?}");
    assert_eq!(errors[0].line, Some(5), "{errors:?}");
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    // Within the limit, replace does what it always did.
    let source = "fn score(participant, sales, ctx) { let t = \"a-b\"; t.replace(\"-\", \"+\"); t.replace('a', \"xy\"); #{score: 1, detail: t} }";
    let output = run(
        &runner(),
        RuleKind::Objective,
        source,
        &TestInput::default(),
    )
    .expect("replace within the limit");
    assert!(output.to_string().contains("xy+b"), "{output}");
}

#[test]
fn splitting_into_a_million_pieces_is_refused_before_it_allocates() {
    for call in [
        "s.split(\"\")",
        "s.to_chars()",
        "s.split('a')",
        "s.split_rev(\"a\", 1000000)",
    ] {
        let (errors, elapsed) = fails(&format!(
            "let s = \"\"; s.pad(1000000, \"a\");\n{call}.len()"
        ));
        assert!(message(&errors).contains("too large"), "{call}: {errors:?}");
        assert!(elapsed < FAST, "{call}: {elapsed:?}");
    }
}

/// What the size limits do not count (map keys), or cannot see while a native call runs
/// (an array being mapped), is bounded by the memory budget read off the allocator: a
/// loop adding 1 MiB keys stops at 64 MiB, long before its time is up.
#[test]
fn map_keys_and_values_in_the_making_count_against_the_memory_budget() {
    let runner = RuleRunner::new(
        Limits {
            max_operations: u64::MAX,
            timeout: Duration::from_secs(30),
            ..Limits::default()
        },
        1,
    );
    let (errors, elapsed) = fails_with(
        &runner,
        "let k = \"\"; k.pad(1000000, \"k\");\nlet m = #{}; let i = 0;\nloop { m[k + i] = i; i += 1; }",
    );
    assert!(message(&errors).contains("memory"), "{errors:?}");
    assert!(errors[0].line.is_some(), "{errors:?}");
    assert!(elapsed < FAST, "{elapsed:?}");
    let (errors, elapsed) = fails_with(
        &runner,
        "let s = \"\"; s.pad(500000, \"a\");\nlet a = []; a.pad(10000, 0);\na.map(|x| s + x).len()",
    );
    assert!(message(&errors).contains("memory"), "{errors:?}");
    assert!(elapsed < FAST, "{elapsed:?}");
}

#[test]
fn thousands_of_variables_are_refused() {
    let lets: String = (0..400).map(|i| format!("let v{i} = {i};\n")).collect();
    let (errors, elapsed) = fails(&format!("{lets}0"));
    assert!(
        message(&errors).to_lowercase().contains("variables"),
        "{errors:?}"
    );
    assert!(elapsed < FAST);
}

#[test]
fn deep_recursion_is_refused() {
    let source = "fn down(n) { down(n + 1) }\nfn score(participant, sales, ctx) { down(0) }";
    let started = Instant::now();
    let errors = run(
        &runner(),
        RuleKind::Objective,
        source,
        &TestInput::default(),
    )
    .expect_err("recursion must stop");
    assert!(
        message(&errors).to_lowercase().contains("stack overflow"),
        "{errors:?}"
    );
    assert!(started.elapsed() < FAST);
}

#[test]
fn too_many_functions_are_refused() {
    let functions: String = (0..200).map(|i| format!("fn f{i}() {{ {i} }}\n")).collect();
    let source = format!("{functions}fn score(participant, sales, ctx) {{ 1 }}");
    let errors = run(
        &runner(),
        RuleKind::Objective,
        &source,
        &TestInput::default(),
    )
    .expect_err("too many functions");
    assert!(
        message(&errors).to_lowercase().contains("function"),
        "{errors:?}"
    );
}

#[test]
fn compile_errors_name_line_and_column() {
    let runner = runner();
    let source =
        "fn score(participant, sales, ctx) {\n    let total = sales.amount();\n    totl\n}";
    let errors = run(&runner, RuleKind::Objective, source, &TestInput::default())
        .expect_err("unknown variable");
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (Some(3), Some(5)));
    assert!(errors[0].message.contains("totl"), "{errors:?}");

    let errors = run(
        &runner,
        RuleKind::Objective,
        "fn score(a, b) { 1 }\nlet x = 1;",
        &TestInput::default(),
    )
    .expect_err("wrong arity and top-level code");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].line, Some(2));
    assert!(errors[1].message.contains("3 parameters"), "{errors:?}");

    let errors = run(
        &runner,
        RuleKind::Allocation,
        "fn score(a, b, c) { 1 }",
        &TestInput::default(),
    )
    .expect_err("no allocate");
    assert!(errors[0].message.contains("fn allocate"), "{errors:?}");
}

#[test]
fn the_same_inputs_give_the_same_result() {
    let source = "fn score(participant, sales, ctx) { let m = #{}; for i in 0..50 { m[`k${i}`] = i * 1.5; } let t = 0.0; for k in m.keys() { t += m[k] / 3.0; } t }";
    let runner = runner();
    let first = run(&runner, RuleKind::Objective, source, &TestInput::default()).expect("runs");
    for _ in 0..5 {
        assert_eq!(
            run(&runner, RuleKind::Objective, source, &TestInput::default()).expect("runs"),
            first
        );
    }
}

#[test]
fn an_allocation_may_award_thousands_of_participants() {
    use podium::rules::allocation::{RewardInput, StandingInput};
    let standings: Vec<StandingInput> = (0..3_000)
        .map(|i| StandingInput {
            participant: format!("00000000-0000-4000-8000-{i:012}"),
            name: format!("Participant {i}"),
            rank: Some(i + 1),
            score: Some(1.0),
            raw_value: Some(1.0),
            qualified: true,
        })
        .collect();
    let input = TestInput {
        standings,
        rewards: vec![RewardInput {
            id: "goodie".into(),
            name: "Mug".into(),
            kind: "gift".into(),
            value: 900,
            stock: None,
        }],
        ..TestInput::default()
    };
    let source = "fn allocate(standings, rewards, ctx) {\n    let awards = [];\n    for line in standings {\n        awards.push(#{ participant: line.participant, reward: \"goodie\", note: \"thank you for taking part\" });\n    }\n    awards\n}";
    let output = run(&runner(), RuleKind::Allocation, source, &input).expect("runs");
    assert_eq!(output["awards"].as_array().map(Vec::len), Some(3_000));
}

#[test]
fn copying_sale_lines_is_bounded() {
    use podium::rules::values::SaleInput;
    let input = TestInput {
        sales: (0..2_000)
            .map(|i| SaleInput {
                product: format!("SKU-{}", i % 7),
                customer: format!("C-{i}"),
                key_account: true,
                quantity: 1,
                amount: 100,
                ..SaleInput::default()
            })
            .collect(),
        ..TestInput::default()
    };
    let hoarder = "fn score(participant, sales, ctx) {\n    let kept = [];\n    for i in 0..100000 { kept.push(sales.key_accounts()); }\n    kept.len()\n}";
    let started = Instant::now();
    let errors = run(&runner(), RuleKind::Objective, hoarder, &input).expect_err("bounded");
    assert!(
        message(&errors).contains("copied too many sale lines"),
        "{errors:?}"
    );
    assert_eq!(errors[0].line, Some(3));
    assert!(started.elapsed() < FAST);

    // Filtering once and reusing the result is fine.
    let frugal = "fn score(participant, sales, ctx) {\n    let key = sales.key_accounts();\n    let total = 0;\n    for i in 0..100 { total += key.amount(); }\n    total\n}";
    let output = run(&runner(), RuleKind::Objective, frugal, &input).expect("runs");
    assert_eq!(output["score"], "20000000");
}
