from overcast.runtime.log_format import (
    billed_duration_ms,
    end_line,
    kb_to_mb,
    log_stream_name,
    report_line,
    start_line,
)


def test_start_and_end_lines_match_lambda() -> None:
    assert start_line("abc") == "START RequestId: abc Version: $LATEST"
    assert end_line("abc") == "END RequestId: abc"


def test_warm_report_line_has_tabs_and_no_init_duration() -> None:
    assert report_line("id", 1.234, 128, 40) == (
        "REPORT RequestId: id\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 40 MB\t"
    )


def test_cold_report_line_ends_with_init_duration() -> None:
    line = report_line("id", 1.0, 256, 50, 120.456)
    assert line.endswith("Max Memory Used: 50 MB\tInit Duration: 120.46 ms\t")
    assert "Billed Duration: 122 ms" in line


def test_billed_duration_rounds_up_to_the_millisecond() -> None:
    assert billed_duration_ms(0.01) == 1
    assert billed_duration_ms(2.0) == 2
    assert billed_duration_ms(2.001) == 3


def test_log_stream_name_is_date_version_and_instance() -> None:
    assert log_stream_name("f" * 32, "$LATEST", 0.0) == "1970/01/01/[$LATEST]" + "f" * 32


def test_max_memory_is_rounded_up_to_whole_megabytes() -> None:
    assert kb_to_mb(1) == 1
    assert kb_to_mb(1024) == 1
    assert kb_to_mb(1025) == 2
