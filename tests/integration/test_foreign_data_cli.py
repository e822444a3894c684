"""A LangMem memory in the user's namespaces (issue 18, item 11), through the
installed command: ``memories list`` and ``search`` skip it, exit 0, no traceback."""

from assistant.memory.factory import memory_namespace, open_store
from assistant.memory.repository import Memories
from assistant.memory.schemas import SemanticMemory
from tests.integration.conftest import local_settings, run_cli


def test_list_and_search_skip_a_langmem_memory(data_dir) -> None:
    settings = local_settings(data_dir)
    memories = Memories(open_store(settings), memory_namespace(settings))
    try:
        memories.store.put(
            memories.namespace_of("semantic"),
            "langmem-1",
            {"kind": "Memory", "content": {"content": "The user's cat is called Miso."}},
        )
        memories.put("ours1234", SemanticMemory(subject="the user", fact="The user has a cat."))
    finally:
        memories.close()

    for args in (("list",), ("search", "cat"), ("list", "--json")):
        done = run_cli("memories", *args, data_dir=data_dir)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "ValidationError" not in done.stderr
        assert "The user has a cat." in done.stdout and "Miso" not in done.stdout
