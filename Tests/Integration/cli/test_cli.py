"""The command line end to end: a sidecar's COMMAND is split into words as a POSIX shell would
split it but nothing expands and no shell runs; the main command's words pass through untouched;
options end at `--` or at the first word that is not an option; `--flag=value`; empty USHER_*
variables count as unset."""
import signal

from conftest import ms

PRINT_ARGS = 'printf "<%s>\\n" "$@" > '  # a sh -c script: one <word> per line, to a file


def _words(path):
    return path.read_text().splitlines()


def test_sidecar_command_is_split_like_a_shell_without_running_one(usher, act, tmp_path):
    out = tmp_path / "words"
    # The outer words are split by usher; sh only runs the quoted printf script.
    line = ("sh -c " + "'" + PRINT_ARGS + str(out) + "'" + " argv0"
            + ' "two words" three\\ words \'$HOME\' $HOME * a;b "q\\"uote" \'\' x\\\\y "d\\$"'
            + " line\\\ncont \t tab")
    u = usher(["--sidecar", "w=" + line, "--", *act("main")], env={"HOME": "/root-expanded"})
    u.wait_started("main")
    u.wait_for(lambda: out.exists() and out.read_text().endswith("<tab>\n"), what="the sidecar's words")
    assert _words(out) == ["<two words>", "<three words>", "<$HOME>", "<$HOME>", "<*>", "<a;b>",
                           '<q"uote>', "<>", "<x\\y>", "<d$>", "<linecont>", "<tab>"]
    u.wait_for(lambda: any(t.startswith("w[") and " exited with status 0" in t for t in u.log_texts()),
               what="usher to log the sidecar's exit")
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_main_command_words_pass_through_untouched(usher, tmp_path):
    out = tmp_path / "words"
    u = usher(["--", "sh", "-c", PRINT_ARGS + str(out), "argv0", "$HOME", "a b", "*", "'q'", ""])
    assert u.wait() == 0
    assert _words(out) == ["<$HOME>", "<a b>", "<*>", "<'q'>", "<>"]


def test_options_end_at_the_first_word_that_is_not_an_option(usher):
    # Without `--`: everything from `sh` on belongs to the command, even what looks like a flag.
    u = usher(["--grace", "5s", "sh", "-c", "exit 4", "--grace", "abc"])
    assert u.wait() == 4, u.stderr()
    v = usher(["--", "sh", "-c", "exit 5", "--bogus"])
    assert v.wait() == 5, v.stderr()


def test_flags_also_take_their_value_after_an_equals_sign(usher, act):
    u = usher(["--sidecar=a=" + act.line("a"), "--stop-signal=USR1", "--pre-stop=200ms", "--grace=900ms", "--min-stop-window=300ms",
               "--", *act("main", "--stop-on", "USR1", "--linger", 8000)])
    u.wait_started("a", "main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 137
    got = u.first("main", "signal")
    assert got[2] == str(int(signal.SIGUSR1))
    assert ms(got[3] - sent) >= 190
    assert 850 <= ms(u.ended_at - sent) < 1800


def test_empty_variables_count_as_unset(usher, act):
    env = {"USHER_GRACE": "", "USHER_PRE_STOP": "", "USHER_STOP_SIGNAL": ""}
    u = usher(["--", *act("main")], env=env)
    u.wait_started("main")
    sent = u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert ms(u.first("main", "signal", "15")[3] - sent) < 500
    assert "received SIGTERM, shutting down (deadline in 30s)" in u.log_texts()


def test_children_write_to_usher_s_own_stdout_and_stderr(usher, act):
    # Without --prefix the children share usher's stdout and stderr: an app's output is the
    # container's output, and usher's log lines are mixed into stderr.
    u = usher(["--sidecar", "s=sh -c 'echo side-out; echo side-err >&2; exec sleep 5'",
               "--", "sh", "-c", "sleep 0.2; echo main-out; echo main-err >&2"], stdout_file=True)
    assert u.wait() == 0
    assert sorted(u.stdout().splitlines()) == ["main-out", "side-out"]
    err = u.stderr().splitlines()
    assert "side-err" in err and "main-err" in err
