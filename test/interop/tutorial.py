#!/usr/bin/env python3
"""KakaoCloud's "Uploading images via Object Storage API" tutorial, run against Onggi with Python requests.

Every call is made the way the tutorial makes it (json.dumps bodies, X-Auth-Token / Content-Type headers, the
JPEG passed to requests as a file object opened 'rb'); only the endpoint changes.

Usage: tutorial.py [ENDPOINT [ACCESS_KEY_ID [SECRET]]]
       (or ONGGI_ENDPOINT, ONGGI_ACCESS_KEY_ID, ONGGI_SECRET in the environment)

Prints each step's status and exits non-zero on the first mismatch.
"""
import hashlib
import json
import os
import sys
import tempfile
import uuid

import requests

TIMEOUT = 30

# A real 8x8 baseline JPEG (made with Pillow), padded below with COM segments so the upload spans many chunks.
JPEG_8X8_HEX = (
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123251d283a333d3c"
    "3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffdb0043011112121815182f1a1a2f634238426363"
    "636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363ffc00011"
    "080008000803012200021101031101ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002"
    "010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a1617"
    "18191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a83848586878889"
    "8a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9"
    "eaf1f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000000102030405060708090a0bffc400b511000201020404"
    "03040705040400010277000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718"
    "191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92"
    "939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3"
    "f4f5f6f7f8f9faffda000c03010002110311003f00e868a28af8c3d53fffd9"
)


def make_jpeg(padding_segments=4):
    """A valid JPEG: SOI, then COM segments of random bytes, then the rest of the 8x8 image."""
    image = bytes.fromhex(JPEG_8X8_HEX)
    assert image[:2] == b"\xff\xd8" and image[-2:] == b"\xff\xd9"
    comments = b""
    for _ in range(padding_segments):
        payload = os.urandom(60000)
        comments += b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
    return image[:2] + comments + image[2:]


def step(name, response, expected):
    print(f"{name}: {response.status_code} (expected {expected})", flush=True)
    if response.status_code != expected:
        print(f"  body: {response.text[:500]!r}", flush=True)
    assert response.status_code == expected, f"{name}: got {response.status_code}, expected {expected}"


def check(name, condition, detail=""):
    print(f"{name}: {'ok' if condition else 'MISMATCH'}{' ' + detail if detail else ''}", flush=True)
    assert condition, f"{name}: {detail}"


def main():
    args = sys.argv[1:]
    endpoint = (args[0] if len(args) > 0 else os.environ.get("ONGGI_ENDPOINT", "http://127.0.0.1:8080")).rstrip("/")
    access_key_id = args[1] if len(args) > 1 else os.environ["ONGGI_ACCESS_KEY_ID"]
    secret = args[2] if len(args) > 2 else os.environ["ONGGI_SECRET"]
    suffix = uuid.uuid4().hex[:8]
    bucket_name = f"tutorial-{suffix}"
    private_bucket = f"tutorial-private-{suffix}"
    folder_name = "images"
    file_name = "kakao-cat.jpg"

    # 0. Token from an access key.
    url = f"{endpoint}/identity/v3/auth/tokens"
    headers = {"Content-Type": "application/json"}
    data = {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": access_key_id, "secret": secret},
            }
        }
    }
    response = requests.post(url, headers=headers, data=json.dumps(data), timeout=TIMEOUT)
    step("issue token", response, 201)
    access_token = response.headers["X-Subject-Token"]
    check("token in X-Subject-Token", bool(access_token))
    project_id = response.json()["token"]["project"]["id"]
    check("token.project.id", bool(project_id), project_id)

    # 1. Create a bucket with managed encryption.
    url = f"{endpoint}/v1_ext/bucket"
    headers = {"X-Auth-Token": access_token, "Content-Type": "application/json"}
    data = {"name": bucket_name, "type": "STANDARD", "use_encryption": True, "encryption_configuration": {"type": "managed"}}
    response = requests.put(url, headers=headers, data=json.dumps(data), timeout=TIMEOUT)
    step("create bucket", response, 201)
    response = requests.put(url, headers=headers, data=json.dumps(data), timeout=TIMEOUT)
    step("create bucket again (name exists)", response, 409)
    bad_headers = {"X-Auth-Token": "not-a-token", "Content-Type": "application/json"}
    bad_data = dict(data, name=f"tutorial-bad-{suffix}")
    response = requests.put(url, headers=bad_headers, data=json.dumps(bad_data), timeout=TIMEOUT)
    step("create bucket with a bad token", response, 401)

    # 2. Public read-only access.
    url = f"{endpoint}/v1_ext/bucket/{bucket_name}"
    data = {"name": bucket_name, "acl": {"public": "read-only"}}
    response = requests.post(url, headers=headers, data=json.dumps(data), timeout=TIMEOUT)
    step("make bucket public", response, 200)
    missing = f"tutorial-missing-{suffix}"
    response = requests.post(
        f"{endpoint}/v1_ext/bucket/{missing}",
        headers=headers,
        data=json.dumps({"name": missing, "acl": {"public": "read-only"}}),
        timeout=TIMEOUT,
    )
    step("make a missing bucket public", response, 404)

    # 3. A folder, with metadata.
    url = f"{endpoint}/v1/{project_id}/{bucket_name}/{folder_name}/"
    folder_headers = {
        "X-Auth-Token": access_token,
        "Content-Type": "application/directory",
        "X-Object-Meta-Company": "kakao enterprise",
    }
    response = requests.put(url, headers=folder_headers, timeout=TIMEOUT)
    step("create folder", response, 201)
    response = requests.head(url, headers={"X-Auth-Token": access_token}, timeout=TIMEOUT)
    step("HEAD folder", response, 200)
    check(
        "folder metadata X-Object-Meta-Company",
        response.headers.get("X-Object-Meta-Company") == "kakao enterprise",
        repr(response.headers.get("X-Object-Meta-Company")),
    )
    check(
        "folder Content-Type",
        response.headers.get("Content-Type", "").startswith("application/directory"),
        repr(response.headers.get("Content-Type")),
    )

    # 4. Upload a JPEG into the folder, streamed from a file opened 'rb'.
    image = make_jpeg()
    with tempfile.TemporaryDirectory() as workdir:
        file_path = os.path.join(workdir, file_name)
        with open(file_path, "wb") as out:
            out.write(image)
        url = f"{endpoint}/v1/{project_id}/{bucket_name}/{folder_name}/{file_name}"
        upload_headers = {"X-Auth-Token": access_token, "Content-Type": "image/jpeg"}
        with open(file_path, "rb") as file:
            response = requests.put(url, headers=upload_headers, data=file, timeout=TIMEOUT)
        step("upload JPEG", response, 201)

    # The console's Objects tab: the folder, then the file inside it.
    listing_url = f"{endpoint}/v1/{project_id}/{bucket_name}"
    response = requests.get(
        listing_url, headers={"X-Auth-Token": access_token}, params={"format": "json", "delimiter": "/"}, timeout=TIMEOUT
    )
    step("list bucket top level", response, 200)
    check("folder shows at the top level", {"subdir": f"{folder_name}/"} in response.json(), repr(response.json()))
    response = requests.get(
        listing_url,
        headers={"X-Auth-Token": access_token},
        params={"format": "json", "prefix": f"{folder_name}/", "delimiter": "/"},
        timeout=TIMEOUT,
    )
    step("list folder", response, 200)
    entries = {entry.get("name"): entry for entry in response.json()}
    check("folder marker listed", f"{folder_name}/" in entries, repr(sorted(entries)))
    check(
        "folder marker is application/directory",
        entries.get(f"{folder_name}/", {}).get("content_type", "").startswith("application/directory"),
        repr(entries.get(f"{folder_name}/")),
    )
    uploaded = entries.get(f"{folder_name}/{file_name}", {})
    check("file shows inside the folder", uploaded.get("bytes") == len(image), repr(uploaded))
    check("file listed as image/jpeg", uploaded.get("content_type", "").startswith("image/jpeg"), repr(uploaded))

    # The same upload without a Content-Length (requests sends a generator chunked).
    def chunks():
        for start in range(0, len(image), 65536):
            yield image[start : start + 65536]

    chunked_url = f"{endpoint}/v1/{project_id}/{bucket_name}/{folder_name}/chunked-{file_name}"
    response = requests.put(chunked_url, headers=upload_headers, data=chunks(), timeout=TIMEOUT)
    step("upload JPEG chunked (no Content-Length)", response, 201)

    # 5. The location URL, opened with no token.
    location = f"{endpoint}/v1/{project_id}/{bucket_name}/{folder_name}/{file_name}"
    for name, target in [
        ("anonymous GET of the location URL", location),
        ("anonymous GET with the folder separator as %2F", f"{endpoint}/v1/{project_id}/{bucket_name}/{folder_name}%2F{file_name}"),
        ("anonymous GET of the chunked upload", chunked_url),
    ]:
        response = requests.get(target, timeout=TIMEOUT)
        step(name, response, 200)
        check(f"{name}: same bytes", response.content == image, f"{len(response.content)} of {len(image)} bytes")
        check(
            f"{name}: Content-Type image/jpeg",
            response.headers.get("Content-Type", "").split(";")[0].strip() == "image/jpeg",
            repr(response.headers.get("Content-Type")),
        )
        check(f"{name}: ETag is the MD5", response.headers.get("ETag", "").strip('"') == hashlib.md5(image).hexdigest())

    # A private bucket's object URL opened with no token reveals nothing.
    url = f"{endpoint}/v1_ext/bucket"
    data = {"name": private_bucket, "type": "STANDARD", "use_encryption": True, "encryption_configuration": {"type": "managed"}}
    response = requests.put(url, headers=headers, data=json.dumps(data), timeout=TIMEOUT)
    step("create private bucket", response, 201)
    secret_bytes = b"private-object-" + uuid.uuid4().hex.encode()
    private_url = f"{endpoint}/v1/{project_id}/{private_bucket}/{folder_name}/secret.txt"
    response = requests.put(
        private_url, headers={"X-Auth-Token": access_token, "Content-Type": "text/plain"}, data=secret_bytes, timeout=TIMEOUT
    )
    step("upload to private bucket", response, 201)
    response = requests.get(private_url, headers={"X-Auth-Token": access_token}, timeout=TIMEOUT)
    step("GET private object with token", response, 200)
    check("private object round-trips", response.content == secret_bytes)
    for name, target in [
        ("anonymous GET of a private object", private_url),
        ("anonymous GET of a private object with %2F", f"{endpoint}/v1/{project_id}/{private_bucket}/{folder_name}%2Fsecret.txt"),
    ]:
        response = requests.get(target, timeout=TIMEOUT)
        step(name, response, 401)
        check(f"{name}: object content not in the body", secret_bytes not in response.content, repr(response.content[:200]))
    response = requests.get(f"{endpoint}/v1/{project_id}/{private_bucket}", timeout=TIMEOUT)
    step("anonymous listing of a private bucket", response, 401)
    check("anonymous listing reveals no object name", b"secret.txt" not in response.content, repr(response.content[:200]))

    print("tutorial: all steps passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as err:
        print(f"FAILED: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
