"""codelewm.downstream"""
