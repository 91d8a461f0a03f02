module yuqing

go 1.26.8

require github.com/yanyiwu/gojieba v1.4.7
