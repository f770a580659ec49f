/* SPDX-License-Identifier: MIT */
/*
 * A program outside the ivc tree that uses an installed ivc: built by
 * test/install/run.sh against the CMake package (ivc::ivc, ivc::ivc_static)
 * and against ivc.pc.  It checks the version and the error text, then runs
 * one round trip over an abstract Unix-socket address: the parent listens
 * and accepts, a forked child connects; a copying send is received
 * zero-copy, and a zero-copy reply is received by a copying receive.
 */
#define _POSIX_C_SOURCE 200809L
#include <ivc/ivc.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS 10000

static int fail(const char *what, int err)
{
	fprintf(stderr, "consumer[%ld]: %s: %d (%s)\n", (long)getpid(), what,
		err, ivc_strerror(err));
	return 1;
}

static int child(const char *addr)
{
	struct ivc_channel *ch = NULL;
	char reply[64];
	ssize_t n;
	int rc;

	rc = ivc_connect(addr, NULL, TIMEOUT_MS, &ch);
	if (rc < 0)
		return fail("ivc_connect", rc);
	rc = ivc_send(ch, "ping", 4, TIMEOUT_MS);
	if (rc < 0)
		return fail("ivc_send", rc);
	n = ivc_recv(ch, reply, sizeof(reply), TIMEOUT_MS);
	if (n < 0)
		return fail("ivc_recv", (int)n);
	if (n != 4 || memcmp(reply, "pong", 4) != 0) {
		fprintf(stderr, "consumer: child got %zd unexpected bytes\n", n);
		return 1;
	}
	return ivc_close(ch) == 0 ? 0 : 1;
}

static int parent(struct ivc_listener *l, pid_t pid)
{
	struct ivc_channel *ch = NULL;
	struct ivc_buf buf[4];
	int rc, n, status = 0, ok = 1;

	rc = ivc_accept(l, TIMEOUT_MS, &ch);
	if (rc < 0)
		return fail("ivc_accept", rc);

	/* Zero-copy receive of the child's copying send. */
	n = ivc_rx_burst(ch, buf, 4, TIMEOUT_MS);
	if (n < 0)
		return fail("ivc_rx_burst", n);
	if (n != 1 || buf[0].len != 4 || buf[0].flags != 0 ||
	    memcmp(buf[0].data, "ping", 4) != 0) {
		fprintf(stderr, "consumer: parent got an unexpected burst\n");
		ok = 0;
	}
	rc = ivc_rx_release(ch, buf, (unsigned)n);
	if (rc < 0)
		return fail("ivc_rx_release", rc);

	/* Zero-copy reply, received by the child's copying receive. */
	n = ivc_tx_alloc(ch, buf, 1, TIMEOUT_MS);
	if (n != 1)
		return fail("ivc_tx_alloc", n < 0 ? n : -ENOBUFS);
	memcpy(buf[0].data, "pong", 4);
	buf[0].len = 4;
	buf[0].flags = 0;
	n = ivc_tx_send(ch, buf, 1, TIMEOUT_MS);
	if (n != 1)
		return fail("ivc_tx_send", n < 0 ? n : -EIO);

	/* The child closes in order: we see -EPIPE once drained. */
	n = ivc_rx_burst(ch, buf, 4, TIMEOUT_MS);
	if (n != -EPIPE) {
		fprintf(stderr, "consumer: expected -EPIPE after the peer's close, got %d\n", n);
		ok = 0;
	}
	if (ivc_close(ch) != 0)
		ok = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "consumer: child failed (status %#x)\n", status);
		ok = 0;
	}
	return ok ? 0 : 1;
}

int main(void)
{
	struct ivc_listener *l = NULL;
	const char *v = ivc_version();
	const char *e = ivc_strerror(-EPROTO);
	char addr[64];
	pid_t pid;
	int rc;

	if (v == NULL || strcmp(v, IVC_VERSION_STRING) != 0) {
		fprintf(stderr, "consumer: library %s, headers %s\n",
			v ? v : "(null)", IVC_VERSION_STRING);
		return 1;
	}
	if (e == NULL || e[0] == '\0' || ivc_strerror(EPROTO) == NULL) {
		fprintf(stderr, "consumer: ivc_strerror gave no text\n");
		return 1;
	}

	alarm(60); /* never hang a test run */
	snprintf(addr, sizeof(addr), "shm:@ivc-install-consumer-%ld",
		 (long)getpid());
	rc = ivc_listen(addr, NULL, &l);
	if (rc < 0)
		return fail("ivc_listen", rc);

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		ivc_listener_close(l);
		_exit(child(addr));
	}
	rc = parent(l, pid);
	ivc_listener_close(l);
	if (rc == 0)
		printf("consumer: ivc %s, round trip over %s ok\n", v, addr);
	return rc;
}
