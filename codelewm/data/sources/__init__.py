"""codelewm.data.sources"""
