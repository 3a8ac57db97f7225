"""codelewm.index"""
