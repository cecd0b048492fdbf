package retry

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/go-sql-driver/mysql"
)

// Class is the verdict on an error.
type Class int

const (
	// Fatal errors will fail again: access denied, missing bucket, bad SQL.
	Fatal Class = iota
	// Retryable errors are transient: throttling, timeouts, dropped connections, deadlocks.
	Retryable
	// Canceled errors come from the caller's context: stop quietly.
	Canceled
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Canceled:
		return "canceled"
	}
	return "fatal"
}

// Retryable MySQL server error numbers.
var mysqlRetryable = map[uint16]bool{
	1205: true,                                     // ER_LOCK_WAIT_TIMEOUT
	1213: true,                                     // ER_LOCK_DEADLOCK
	1290: true,                                     // ER_OPTION_PREVENTS_STATEMENT (read-only during failover)
	1040: true,                                     // ER_CON_COUNT_ERROR
	1053: true,                                     // ER_SERVER_SHUTDOWN
	1158: true, 1159: true, 1160: true, 1161: true, // net read/write errors
	1927: true, // ER_CONNECTION_KILLED (MariaDB)
	2003: true, // CR_CONN_HOST_ERROR
	2006: true, // CR_SERVER_GONE_ERROR
	2013: true, // CR_SERVER_LOST
}

// S3 (and generic AWS) error codes worth retrying.
var s3Retryable = map[string]bool{
	"SlowDown": true, "RequestTimeout": true, "RequestTimeTooSkewed": true,
	"InternalError": true, "ServiceUnavailable": true, "Throttling": true,
	"ThrottlingException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "BadDigest": true, "XAmzContentSHA256Mismatch": true,
	"IncompleteBody": true, "OperationAborted": true,
}

// Classify decides whether err is worth retrying.
func Classify(err error) Class {
	if err == nil {
		return Fatal
	}
	if c, ok := marked(err); ok {
		return c
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Canceled
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if mysqlRetryable[me.Number] {
			return Retryable
		}
		return Fatal
	}
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return Retryable
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == 429 || s == 500 || s == 502 || s == 503 || s == 504:
			return Retryable
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if s3Retryable[ae.ErrorCode()] {
			return Retryable
		}
		return Fatal
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) {
		return Retryable
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Retryable
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return Retryable
	}
	return Fatal
}

// HasCode reports whether err is an AWS API error (S3: NoSuchBucket,
// AccessDenied, ...) with one of codes.
func HasCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}
