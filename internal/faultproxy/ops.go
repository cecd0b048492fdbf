package faultproxy

import (
	"net/http"
	"strings"
)

// Operation names the S3 API operation of a path-style request, e.g.
// "PutObject", "UploadPart", "ListObjectsV2"; "Unknown" otherwise.
func Operation(r *http.Request) string {
	q := r.URL.Query()
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "" {
		if r.Method == http.MethodGet {
			return "ListBuckets"
		}
		return "Unknown"
	}
	_, key, _ := strings.Cut(path, "/")
	if key == "" {
		return bucketOperation(r.Method, q.Has("list-type"), q.Has("uploads"), q.Has("delete"))
	}
	copySrc := r.Header.Get("X-Amz-Copy-Source") != ""
	switch r.Method {
	case http.MethodGet:
		switch {
		case q.Has("uploadId"):
			return "ListParts"
		case q.Has("attributes"):
			return "GetObjectAttributes"
		case q.Has("tagging"):
			return "GetObjectTagging"
		}
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodPut:
		switch {
		case q.Has("partNumber") && copySrc:
			return "UploadPartCopy"
		case q.Has("partNumber"):
			return "UploadPart"
		case copySrc:
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return "CreateMultipartUpload"
		case q.Has("uploadId"):
			return "CompleteMultipartUpload"
		}
	case http.MethodDelete:
		if q.Has("uploadId") {
			return "AbortMultipartUpload"
		}
		return "DeleteObject"
	}
	return "Unknown"
}

func bucketOperation(method string, listV2, uploads, del bool) string {
	switch method {
	case http.MethodGet:
		switch {
		case listV2:
			return "ListObjectsV2"
		case uploads:
			return "ListMultipartUploads"
		}
		return "ListObjects"
	case http.MethodHead:
		return "HeadBucket"
	case http.MethodPut:
		return "CreateBucket"
	case http.MethodDelete:
		return "DeleteBucket"
	case http.MethodPost:
		if del {
			return "DeleteObjects"
		}
	}
	return "Unknown"
}
