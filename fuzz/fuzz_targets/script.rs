//! Fuzzes the `.bms` script parser and runner of `bootmem script`: no input may panic; every call prints one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

use bootmem_cli::script;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(calls) = script::parser::parse_script(text) else {
        return;
    };
    let mut interpreter = script::interpreter::Interpreter::new();
    for call in calls.iter().take(2000) {
        let line = interpreter.execute(call).to_string();
        assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
    }
});
