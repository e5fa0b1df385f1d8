"""Request bodies beyond JSON: forms and multipart checked against their schemas, binary
and text bodies accepted within the size limit, anything undeclared a 415."""

from __future__ import annotations

import pytest

from auralytik_mock.core.errors import InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from auralytik_mock.core.spec import Spec
from auralytik_mock.core.types import MockRequest
from auralytik_mock.core.validation import RequestValidator

_SPEC = """openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Pet'}
          application/x-www-form-urlencoded:
            schema: {$ref: '#/components/schemas/Pet'}
      responses: {'201': {description: ok}}
  /pets/photo:
    post:
      operationId: uploadPhoto
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file]
              properties:
                caption: {type: string, maxLength: 20}
                file: {type: string, format: binary, maxLength: 16}
      responses: {'201': {description: ok}}
  /pets/album:
    post:
      operationId: uploadAlbum
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                caption: {type: string}
                images:
                  anyOf:
                    - {type: string, format: binary}
                    - {type: array, items: {type: string, format: binary}}
      responses: {'201': {description: ok}}
  /pets/raw:
    post:
      operationId: uploadRaw
      requestBody:
        required: true
        content:
          application/octet-stream: {}
          image/*: {schema: {type: string, format: binary}}
      responses: {'204': {description: ok}}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string, minLength: 1}
        age: {type: integer, minimum: 0}
        tags: {type: array, items: {type: string}}
        weight: {type: [number, "null"]}
"""


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Spec, RequestValidator]:
    path = tmp_path_factory.mktemp("spec") / "openapi.yaml"
    path.write_text(_SPEC)
    spec = Spec.load(path)
    return spec, RequestValidator(spec, max_body_bytes=1000)


def _send(checked: tuple[Spec, RequestValidator], op_id: str, content_type: str, body: bytes) -> object:
    spec, validator = checked
    op = next(op for op in spec.operations if op.operation_id == op_id)
    request = MockRequest("POST", op.path, headers={"Content-Type": content_type}, body=body)
    return validator.validate(op, request, {}).body


def test_a_form_is_read_as_its_schema_types_and_checked(checked) -> None:
    body = _send(checked, "addPet", "application/x-www-form-urlencoded", b"name=Rex&age=3&tags=a&tags=b")
    assert body == {"name": "Rex", "age": 3, "tags": ["a", "b"]}
    with pytest.raises(InvalidRequestError) as info:
        _send(checked, "addPet", "application/x-www-form-urlencoded", b"age=-1")
    fields = {d.field for d in info.value.details}
    assert fields == {"body.name", "body.age"}  # name is required, age below its minimum


def test_json_still_works_beside_a_form(checked) -> None:
    assert _send(checked, "addPet", "application/json", b'{"name": "Rex"}') == {"name": "Rex"}


def test_multipart_with_a_file_part_is_checked_and_its_size_bounded(checked) -> None:
    boundary = "XyZ"

    def multipart(caption: str, data: bytes) -> bytes:
        return (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n{caption}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
                f"Content-Type: image/png\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )

    body = _send(
        checked, "uploadPhoto", f"multipart/form-data; boundary={boundary}", multipart("hi", b"\x89PNG\x00\xff")
    )
    assert body == {"caption": "hi", "file": "\x89PNG\x00\xff"}
    with pytest.raises(InvalidRequestError) as info:
        _send(checked, "uploadPhoto", f"multipart/form-data; boundary={boundary}", multipart("hi", b"x" * 17))
    assert [d.field for d in info.value.details] == ["body.file"]
    with pytest.raises(InvalidRequestError, match="boundary"):
        _send(checked, "uploadPhoto", "multipart/form-data", b"--x--")


def test_a_part_whose_schema_takes_a_file_in_any_branch_is_bytes_even_without_a_filename(checked) -> None:
    def part(name: str, data: bytes) -> bytes:
        return f'--B\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + data + b"\r\n"

    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    body = _send(checked, "uploadAlbum", "multipart/form-data; boundary=B", part("images", png) + b"--B--\r\n")
    assert body == {"images": png.decode("latin-1")}, "OpenAI's image: one file or an array of files"
    text = "caf\u00e9 au lait".encode()
    body = _send(checked, "uploadAlbum", "multipart/form-data; boundary=B", part("images", text) + b"--B--\r\n")
    assert body == {"images": "caf\u00e9 au lait"}, "UTF-8 text is read as text first"
    with pytest.raises(InvalidRequestError, match="part 'caption' is not UTF-8 text"):
        _send(checked, "uploadAlbum", "multipart/form-data; boundary=B", part("caption", png) + b"--B--\r\n")


def test_binary_bodies_are_accepted_by_their_declared_types_within_the_limit(checked) -> None:
    assert _send(checked, "uploadRaw", "application/octet-stream", b"\x00\x01") is None
    assert _send(checked, "uploadRaw", "image/jpeg", b"\xff\xd8") is None  # under image/*
    with pytest.raises(UnsupportedMediaTypeError, match="application/octet-stream"):
        _send(checked, "uploadRaw", "text/csv", b"a,b")
    with pytest.raises(PayloadTooLargeError):
        _send(checked, "uploadRaw", "application/octet-stream", b"x" * 1001)


def test_json_to_an_operation_that_takes_only_a_form_is_a_415(checked) -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="multipart/form-data"):
        _send(checked, "uploadPhoto", "application/json", b"{}")


def test_null_in_a_form_is_null_where_the_field_takes_null_and_no_text(checked) -> None:
    form = "application/x-www-form-urlencoded"
    assert _send(checked, "addPet", form, b"name=null&weight=null") == {"name": "null", "weight": None}
    assert _send(checked, "addPet", form, b"name=Rex&weight=2.5") == {"name": "Rex", "weight": 2.5}


def test_an_undeclared_type_is_a_415_naming_every_type_the_operation_takes(checked) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as info:
        _send(checked, "addPet", "text/plain", b"Rex")
    assert "'application/json'" in info.value.message and "'application/x-www-form-urlencoded'" in info.value.message


def test_the_names_a_client_sends_do_not_grow_the_schema_cache(checked) -> None:
    spec, validator = checked
    schemas = validator.schemas
    pointer = "/components/schemas/Pet"
    for index in range(500):
        schemas.bad_fields(pointer, {"name": "Rex", f"x{index}": 1}, ["name", f"x{index}"])
    assert len(schemas._objects) <= 1, "one entry per schema, none per name"
