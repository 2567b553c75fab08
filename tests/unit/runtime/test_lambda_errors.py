import json
import signal

from overcast.runtime import lambda_errors


def test_exit_is_worded_like_go() -> None:
    assert lambda_errors.describe_exit(1, None) == "exit status 1"
    assert lambda_errors.describe_exit(None, signal.SIGSEGV) == "signal: segmentation fault"
    assert lambda_errors.describe_exit(None, signal.SIGKILL) == "signal: killed"


def test_exit_error_has_aws_shape() -> None:
    error = lambda_errors.exit_error("rid", None, signal.SIGKILL)
    assert error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: rid Error: Runtime exited with error: signal: killed",
    }


def test_timeout_message_names_request_and_seconds() -> None:
    message = lambda_errors.timeout_message("rid", 3, epoch_s=1605000000.5)
    assert message == "2020-11-10T09:20:00.500Z rid Task timed out after 3.00 seconds"


def test_error_object_has_the_four_fields_in_order() -> None:
    error = lambda_errors.make_error("boom", "ValueError", ["  File x\n"], "rid")
    assert list(json.loads(lambda_errors.error_json(error))) == [
        "errorMessage",
        "errorType",
        "requestId",
        "stackTrace",
    ]


def test_error_log_line_is_one_event_with_nbsp_indent() -> None:
    error = lambda_errors.make_error(
        "boom", "ValueError", ['  File "/x/app.py", line 3, in handler\n    raise ValueError\n']
    )
    line = lambda_errors.format_error_log(error)
    assert line == (
        "[ERROR] ValueError: boom\rTraceback (most recent call last):\r"
        '\u00a0\u00a0File "/x/app.py", line 3, in handler\r'
        "\u00a0\u00a0\u00a0\u00a0raise ValueError\n"
    )


def test_timeout_error_is_sandbox_timedout_as_lambda_answers() -> None:
    assert lambda_errors.timeout_error("rid", 3) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: rid Error: Task timed out after 3.00 seconds",
    }


def test_init_report_line_names_duration_phase_and_status() -> None:
    assert (
        lambda_errors.init_report_line(10000.123, "init", "timeout")
        == "INIT_REPORT Init Duration: 10000.12 ms\tPhase: init\tStatus: timeout"
    )
